<?php
final class Service79
{
    private array $config = ["id" => 79, "name" => "service-79"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
