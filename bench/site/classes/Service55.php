<?php
final class Service55
{
    private array $config = ["id" => 55, "name" => "service-55"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
