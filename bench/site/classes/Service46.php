<?php
final class Service46
{
    private array $config = ["id" => 46, "name" => "service-46"];

    public function value(): int
    {
        return $this->config["id"] * 2;
    }
}
