<?php
final class Service87
{
    private array $config = ["id" => 87, "name" => "service-87"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
