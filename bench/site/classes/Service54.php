<?php
final class Service54
{
    private array $config = ["id" => 54, "name" => "service-54"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
