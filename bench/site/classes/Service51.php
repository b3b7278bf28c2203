<?php
final class Service51
{
    private array $config = ["id" => 51, "name" => "service-51"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
