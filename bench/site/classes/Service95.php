<?php
final class Service95
{
    private array $config = ["id" => 95, "name" => "service-95"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
