<?php
final class Service88
{
    private array $config = ["id" => 88, "name" => "service-88"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
