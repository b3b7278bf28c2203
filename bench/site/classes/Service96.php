<?php
final class Service96
{
    private array $config = ["id" => 96, "name" => "service-96"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
