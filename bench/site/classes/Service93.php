<?php
final class Service93
{
    private array $config = ["id" => 93, "name" => "service-93"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
