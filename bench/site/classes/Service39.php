<?php
final class Service39
{
    private array $config = ["id" => 39, "name" => "service-39"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
