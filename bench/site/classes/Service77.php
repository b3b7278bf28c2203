<?php
final class Service77
{
    private array $config = ["id" => 77, "name" => "service-77"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
