<?php
final class Service18
{
    private array $config = ["id" => 18, "name" => "service-18"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
