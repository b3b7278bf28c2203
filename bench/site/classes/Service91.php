<?php
final class Service91
{
    private array $config = ["id" => 91, "name" => "service-91"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
