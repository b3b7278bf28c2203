<?php
final class Service72
{
    private array $config = ["id" => 72, "name" => "service-72"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
