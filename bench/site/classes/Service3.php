<?php
final class Service3
{
    private array $config = ["id" => 3, "name" => "service-3"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
