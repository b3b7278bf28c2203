<?php
final class Service41
{
    private array $config = ["id" => 41, "name" => "service-41"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
