<?php
final class Service71
{
    private array $config = ["id" => 71, "name" => "service-71"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
