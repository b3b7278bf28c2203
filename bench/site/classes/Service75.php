<?php
final class Service75
{
    private array $config = ["id" => 75, "name" => "service-75"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
