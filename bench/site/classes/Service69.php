<?php
final class Service69
{
    private array $config = ["id" => 69, "name" => "service-69"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
