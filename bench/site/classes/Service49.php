<?php
final class Service49
{
    private array $config = ["id" => 49, "name" => "service-49"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
