<?php
final class Service81
{
    private array $config = ["id" => 81, "name" => "service-81"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
