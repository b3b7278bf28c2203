<?php
final class Service34
{
    private array $config = ["id" => 34, "name" => "service-34"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
