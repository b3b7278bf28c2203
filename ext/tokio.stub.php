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

/** The worker thread running this request, from 0. */
function tokio_worker_id(): int {}

/**
 * What this server is: ['server' => 'tokio-php', 'version' => '0.1.0', 'sapi' => 'fpm-fcgi'
 * (what PHP_SAPI says), 'php_version' => '8.4.x', 'zts' => true, 'opcache' => true,
 * 'executor' => 'ext'|'eval', 'workers' => 4, 'worker_id' => 0]
 */
function tokio_server_info(): array {}

/**
 * Commits the status and headers now and switches to streaming: each flush() then sends what
 * was written since, as a chunk.
 * @return bool false when the headers had already been sent
 */
function tokio_send_headers(int $status = 200): bool {}
