<?php
final class Service38
{
    private array $config = ["id" => 38, "name" => "service-38"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
