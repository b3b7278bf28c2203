<?php
final class Service9
{
    private array $config = ["id" => 9, "name" => "service-9"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
