<?php
final class Service31
{
    private array $config = ["id" => 31, "name" => "service-31"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
