<?php
final class Service82
{
    private array $config = ["id" => 82, "name" => "service-82"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
