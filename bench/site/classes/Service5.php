<?php
final class Service5
{
    private array $config = ["id" => 5, "name" => "service-5"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
