<?php
final class Service66
{
    private array $config = ["id" => 66, "name" => "service-66"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
