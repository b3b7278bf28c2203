<?php
final class Service8
{
    private array $config = ["id" => 8, "name" => "service-8"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
