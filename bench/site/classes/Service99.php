<?php
final class Service99
{
    private array $config = ["id" => 99, "name" => "service-99"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
