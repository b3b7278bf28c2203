<?php
final class Service22
{
    private array $config = ["id" => 22, "name" => "service-22"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
