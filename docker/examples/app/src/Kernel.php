<?php

declare(strict_types=1);

namespace App;

/**
 * The app: booted once per request in classic mode, once per PHP thread in worker mode.
 */
final class Kernel
{
    private readonly float $bootedAt;
    private int $handled = 0;

    public function __construct(private readonly Greeter $greeter = new Greeter())
    {
        $this->bootedAt = microtime(true);
    }

    /** @param array<string, mixed> $server @param array<string, mixed> $query */
    public function handle(array $server, array $query): string
    {
        $this->handled++;
        $name = is_string($query['name'] ?? null) ? $query['name'] : 'world';
        header('Content-Type: application/json');
        return json_encode([
            'greeting' => $this->greeter->greet($name),
            'mode' => ($server['TOKIO_WORKER'] ?? '') === '1' ? 'worker' : 'classic',
            // 1 for every classic request; counts up in a worker thread, which keeps its Kernel
            'requests_since_boot' => $this->handled,
            'path' => parse_url((string) ($server['REQUEST_URI'] ?? '/'), PHP_URL_PATH),
        ], JSON_THROW_ON_ERROR) . "\n";
    }
}
