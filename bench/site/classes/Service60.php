<?php
final class Service60
{
    private array $config = ["id" => 60, "name" => "service-60"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
