<?php
final class Service97
{
    private array $config = ["id" => 97, "name" => "service-97"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
