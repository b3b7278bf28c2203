<?php
final class Service98
{
    private array $config = ["id" => 98, "name" => "service-98"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
