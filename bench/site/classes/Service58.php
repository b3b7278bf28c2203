<?php
final class Service58
{
    private array $config = ["id" => 58, "name" => "service-58"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
