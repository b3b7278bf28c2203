<?php
final class Service12
{
    private array $config = ["id" => 12, "name" => "service-12"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
