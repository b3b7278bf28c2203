<?php
final class Service42
{
    private array $config = ["id" => 42, "name" => "service-42"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
