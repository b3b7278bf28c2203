<?php
final class Service35
{
    private array $config = ["id" => 35, "name" => "service-35"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
