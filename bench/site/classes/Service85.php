<?php
final class Service85
{
    private array $config = ["id" => 85, "name" => "service-85"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
