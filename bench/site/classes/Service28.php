<?php
final class Service28
{
    private array $config = ["id" => 28, "name" => "service-28"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
