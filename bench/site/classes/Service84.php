<?php
final class Service84
{
    private array $config = ["id" => 84, "name" => "service-84"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
