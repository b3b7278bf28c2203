<?php
final class Service43
{
    private array $config = ["id" => 43, "name" => "service-43"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
