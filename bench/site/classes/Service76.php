<?php
final class Service76
{
    private array $config = ["id" => 76, "name" => "service-76"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
