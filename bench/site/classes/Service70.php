<?php
final class Service70
{
    private array $config = ["id" => 70, "name" => "service-70"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
