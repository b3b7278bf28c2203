<?php
final class Service65
{
    private array $config = ["id" => 65, "name" => "service-65"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
