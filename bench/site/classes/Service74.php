<?php
final class Service74
{
    private array $config = ["id" => 74, "name" => "service-74"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
