<?php
final class Service16
{
    private array $config = ["id" => 16, "name" => "service-16"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
