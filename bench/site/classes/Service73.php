<?php
final class Service73
{
    private array $config = ["id" => 73, "name" => "service-73"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
