<?php
final class Service23
{
    private array $config = ["id" => 23, "name" => "service-23"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
