<?php
final class Service56
{
    private array $config = ["id" => 56, "name" => "service-56"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
