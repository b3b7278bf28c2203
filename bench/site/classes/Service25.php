<?php
final class Service25
{
    private array $config = ["id" => 25, "name" => "service-25"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
