<?php
final class Service59
{
    private array $config = ["id" => 59, "name" => "service-59"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
