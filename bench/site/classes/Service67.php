<?php
final class Service67
{
    private array $config = ["id" => 67, "name" => "service-67"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
