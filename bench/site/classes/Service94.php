<?php
final class Service94
{
    private array $config = ["id" => 94, "name" => "service-94"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
