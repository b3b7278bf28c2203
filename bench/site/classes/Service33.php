<?php
final class Service33
{
    private array $config = ["id" => 33, "name" => "service-33"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
