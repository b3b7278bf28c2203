<?php
final class Service29
{
    private array $config = ["id" => 29, "name" => "service-29"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
