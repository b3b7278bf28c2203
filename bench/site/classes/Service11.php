<?php
final class Service11
{
    private array $config = ["id" => 11, "name" => "service-11"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
