<?php
/**
 * The tokio functions in userland, so an app written for tokio-php runs unchanged under
 * php-fpm, mod_php or the CLI. Each is defined only when missing; under tokio-php nothing here
 * is used. Load it from composer ("autoload": {"files": [".../polyfill.php"]}) or require it.
 */

if (!function_exists('tokio_finish_request')) {
    function tokio_finish_request(): bool
    {
        if (function_exists('fastcgi_finish_request')) {
            return fastcgi_finish_request();
        }
        if (function_exists('litespeed_finish_request')) {
            return litespeed_finish_request();
        }
        while (ob_get_level() > 0) {
            ob_end_flush();
        }
        flush();
        return true;
    }
}

if (!function_exists('tokio_request_heartbeat')) {
    function tokio_request_heartbeat(int $seconds = 10): bool
    {
        // php-fpm and the CLI have no per-request deadline to move
        return false;
    }
}

if (!function_exists('tokio_request_id')) {
    function tokio_request_id(): string
    {
        static $id = null;
        return $id ??= (string)($_SERVER['HTTP_X_REQUEST_ID'] ?? $_SERVER['REQUEST_ID'] ?? bin2hex(random_bytes(10)));
    }
}

if (!function_exists('tokio_worker_id')) {
    function tokio_worker_id(): int
    {
        return 0;
    }
}

if (!function_exists('tokio_server_info')) {
    function tokio_server_info(): array
    {
        return [
            'server' => PHP_SAPI, 'version' => PHP_VERSION, 'sapi' => PHP_SAPI, 'php_version' => PHP_VERSION,
            'zts' => PHP_ZTS === 1, 'opcache' => function_exists('opcache_get_status') && (opcache_get_status(false)['opcache_enabled'] ?? false),
            'executor' => 'none', 'workers' => 1, 'worker_id' => 0, 'process' => 0, 'event_loop' => 0,
        ];
    }
}

if (!function_exists('tokio_send_headers')) {
    function tokio_send_headers(int $status = 200): bool
    {
        if (headers_sent()) {
            return false;
        }
        http_response_code($status);
        flush();
        return true;
    }
}

if (!function_exists('tokio_headers_send')) {
    /** php-fpm and the CLI cannot send 103 Early Hints: the Link headers go with the final response. */
    function tokio_headers_send(int $status = 200): int
    {
        if ($status >= 200) {
            http_response_code($status);
        }
        return 0;
    }
}

if (!function_exists('tokio_handle_request')) {
    function tokio_handle_request(callable $handler): bool
    {
        // no worker mode here: the current request is served once, and the loop ends
        static $handled = false;
        if ($handled) {
            return false;
        }
        $handled = true;
        $handler();
        return false;
    }
}
