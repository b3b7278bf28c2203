<?php
final class Service7
{
    private array $config = ["id" => 7, "name" => "service-7"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
