<?php
final class Service53
{
    private array $config = ["id" => 53, "name" => "service-53"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
