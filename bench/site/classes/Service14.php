<?php
final class Service14
{
    private array $config = ["id" => 14, "name" => "service-14"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
