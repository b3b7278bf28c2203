<?php
final class Service68
{
    private array $config = ["id" => 68, "name" => "service-68"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
