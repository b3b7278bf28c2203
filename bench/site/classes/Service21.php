<?php
final class Service21
{
    private array $config = ["id" => 21, "name" => "service-21"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
