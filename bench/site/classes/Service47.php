<?php
final class Service47
{
    private array $config = ["id" => 47, "name" => "service-47"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
