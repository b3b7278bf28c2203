<?php
final class Service92
{
    private array $config = ["id" => 92, "name" => "service-92"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
