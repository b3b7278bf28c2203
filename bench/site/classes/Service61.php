<?php
final class Service61
{
    private array $config = ["id" => 61, "name" => "service-61"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
