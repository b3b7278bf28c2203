<?php
final class Service13
{
    private array $config = ["id" => 13, "name" => "service-13"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
