<?php
final class Service57
{
    private array $config = ["id" => 57, "name" => "service-57"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
