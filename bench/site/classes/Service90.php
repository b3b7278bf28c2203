<?php
final class Service90
{
    private array $config = ["id" => 90, "name" => "service-90"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
