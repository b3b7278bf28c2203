<?php
final class Service20
{
    private array $config = ["id" => 20, "name" => "service-20"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
