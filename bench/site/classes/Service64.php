<?php
final class Service64
{
    private array $config = ["id" => 64, "name" => "service-64"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
