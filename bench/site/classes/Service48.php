<?php
final class Service48
{
    private array $config = ["id" => 48, "name" => "service-48"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
