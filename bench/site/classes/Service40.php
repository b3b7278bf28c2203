<?php
final class Service40
{
    private array $config = ["id" => 40, "name" => "service-40"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
