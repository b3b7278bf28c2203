<?php
final class Service19
{
    private array $config = ["id" => 19, "name" => "service-19"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
