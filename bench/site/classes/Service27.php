<?php
final class Service27
{
    private array $config = ["id" => 27, "name" => "service-27"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
