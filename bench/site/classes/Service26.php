<?php
final class Service26
{
    private array $config = ["id" => 26, "name" => "service-26"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
