<?php
final class Service37
{
    private array $config = ["id" => 37, "name" => "service-37"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
