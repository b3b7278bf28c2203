<?php
final class Service17
{
    private array $config = ["id" => 17, "name" => "service-17"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
