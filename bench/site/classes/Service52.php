<?php
final class Service52
{
    private array $config = ["id" => 52, "name" => "service-52"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
