<?php
final class Service86
{
    private array $config = ["id" => 86, "name" => "service-86"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
