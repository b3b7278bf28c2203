<?php
final class Service6
{
    private array $config = ["id" => 6, "name" => "service-6"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
