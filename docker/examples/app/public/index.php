<?php
// The front controller, and the worker script as well: with WORKER_SCRIPT=index.php each PHP
// thread runs this file once and serves request after request in the loop; without it (classic
// mode), tokio_handle_request() runs the handler once for the current request and returns false.

declare(strict_types=1);

require __DIR__ . '/../vendor/autoload.php';

$kernel = new App\Kernel();

$handler = static function () use ($kernel): void {
    echo $kernel->handle($_SERVER, $_GET);
};

while (tokio_handle_request($handler)) {
    gc_collect_cycles();
}
