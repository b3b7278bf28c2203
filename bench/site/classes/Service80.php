<?php
final class Service80
{
    private array $config = ["id" => 80, "name" => "service-80"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
