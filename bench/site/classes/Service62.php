<?php
final class Service62
{
    private array $config = ["id" => 62, "name" => "service-62"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
