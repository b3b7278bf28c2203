<?php
final class Service50
{
    private array $config = ["id" => 50, "name" => "service-50"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
