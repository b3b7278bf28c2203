<?php
final class Service15
{
    private array $config = ["id" => 15, "name" => "service-15"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
