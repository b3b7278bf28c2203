<?php
final class Service83
{
    private array $config = ["id" => 83, "name" => "service-83"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
