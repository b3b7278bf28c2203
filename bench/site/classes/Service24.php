<?php
final class Service24
{
    private array $config = ["id" => 24, "name" => "service-24"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
