<?php
final class Service78
{
    private array $config = ["id" => 78, "name" => "service-78"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
