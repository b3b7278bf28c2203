<?php
final class Service32
{
    private array $config = ["id" => 32, "name" => "service-32"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
