<?php
final class Service30
{
    private array $config = ["id" => 30, "name" => "service-30"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
