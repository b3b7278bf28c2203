<?php
final class Service63
{
    private array $config = ["id" => 63, "name" => "service-63"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
