<?php
final class Service0
{
    private array $config = ["id" => 0, "name" => "service-0"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
