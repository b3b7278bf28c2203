<?php
final class Service89
{
    private array $config = ["id" => 89, "name" => "service-89"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
