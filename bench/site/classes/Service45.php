<?php
final class Service45
{
    private array $config = ["id" => 45, "name" => "service-45"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
