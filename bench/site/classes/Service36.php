<?php
final class Service36
{
    private array $config = ["id" => 36, "name" => "service-36"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
