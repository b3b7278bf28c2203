<?php
final class Service2
{
    private array $config = ["id" => 2, "name" => "service-2"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
