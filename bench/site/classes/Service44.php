<?php
final class Service44
{
    private array $config = ["id" => 44, "name" => "service-44"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
