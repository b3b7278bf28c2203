<?php
final class Service1
{
    private array $config = ["id" => 1, "name" => "service-1"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
