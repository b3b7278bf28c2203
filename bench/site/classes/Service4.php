<?php
final class Service4
{
    private array $config = ["id" => 4, "name" => "service-4"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
