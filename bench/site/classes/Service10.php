<?php
final class Service10
{
    private array $config = ["id" => 10, "name" => "service-10"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
