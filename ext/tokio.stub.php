<?php
/**
 * IDE stubs for the tokio extension, which is compiled into tokio-php (never include this file).
 * Under php-fpm or the CLI, require polyfill.php instead: the same functions, in userland.
 */

/**
 * Sends the response now (status, headers and the body so far). The script keeps running and
 * the worker stays busy until it ends; later output is discarded.
 * @return bool false when the response had already been sent this way
 */
function tokio_finish_request(): bool {}

/**
 * The same as tokio_finish_request(), defined when nothing else defines it: Symfony and Laravel
 * call it when it exists.
 */
function fastcgi_finish_request(): bool {}

/**
 * Moves this request's deadline to now + $seconds (capped by REQUEST_HEARTBEAT_MAX). Long jobs
 * stay alive under REQUEST_TIMEOUT only while they beat.
 * Work that goes on after tokio_finish_request() stays under the deadline too, and may beat.
 * @return bool false when not allowed (REQUEST_TIMEOUT off, or $seconds < 1)
 */
function tokio_request_heartbeat(int $seconds = 10): bool {}

/** This request's id: its X-Request-ID, or one made for it; also $_SERVER['REQUEST_ID']. */
function tokio_request_id(): string {}

/** The PHP thread running this request, from 0: unique in the server process's pool. */
function tokio_worker_id(): int {}

/**
 * What this server is: ['server' => 'tokio-php', 'version' => '0.1.0', 'sapi' => 'fpm-fcgi'
 * (what PHP_SAPI says), 'php_version' => '8.4.x', 'zts' => true, 'opcache' => true,
 * 'executor' => 'ext'|'eval', 'workers' => 4, 'worker_id' => 0, 'process' => 0 (the server process,
 * PROCESSES), 'event_loop' => 0 (the HTTP event loop that brought this request, HTTP_THREADS)]
 */
function tokio_server_info(): array {}

/**
 * Commits the status and headers now and switches to streaming: each flush() then sends what
 * was written since, as a chunk.
 * @return bool false when the headers had already been sent
 */
function tokio_send_headers(int $status = 200): bool {}

/**
 * FrankenPHP's headers_send(): with a 1xx status (103 Early Hints), sends an informational
 * response now with the headers set so far (the `Link: <...>; rel=preload` hints), which stay for
 * the final response; the script goes on. Over HTTP/1.1 and HTTP/2; HTTP/1.0 clients get only
 * the final response. With another status, sets it and commits the headers.
 * @return int 1 when a 1xx went out, 0 when the headers were committed, another value when nothing could be sent
 */
function tokio_headers_send(int $status = 200): int {}

/** The same as tokio_headers_send(), defined when nothing else defines it, as FrankenPHP names it. */
function headers_send(int $status = 200): int {}

/**
 * Worker mode's loop (WORKER_SCRIPT): waits for the next request, makes it the current one
 * ($_SERVER, $_GET, $_POST, $_COOKIE, $_FILES, $_REQUEST, php://input, headers, status, output
 * buffers, as a classic request would see them), runs $handler, sends the response and returns
 * true. Returns false when the script must end (shutdown, restart, WORKER_MAX_REQUESTS ...):
 * end the script cleanly, and it is started again when needed.
 * An exception that escapes $handler goes to the exception handler set with
 * set_exception_handler(), else to the error log with a 500 answer; the loop goes on. A fatal
 * error, exit() or a timeout inside $handler ends the script (the request is answered first).
 * In a classic request (no WORKER_SCRIPT) it runs $handler once for that request and returns
 * false, so a worker script also works as a plain front controller.
 * @param callable(): void $handler
 */
function tokio_handle_request(callable $handler): bool {}

/** The same as tokio_handle_request(), for apps written for FrankenPHP's worker mode; defined when nothing else defines it. */
function frankenphp_handle_request(callable $handler): bool {}

/** The same as tokio_finish_request(), defined when nothing else defines it. */
function frankenphp_finish_request(): bool {}
