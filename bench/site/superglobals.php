<?php
header('Content-Type: application/json');
echo json_encode([
    'method' => $_SERVER['REQUEST_METHOD'], 'uri' => $_SERVER['REQUEST_URI'], 'query' => $_SERVER['QUERY_STRING'],
    'script' => $_SERVER['SCRIPT_NAME'], 'file' => $_SERVER['SCRIPT_FILENAME'], 'root' => $_SERVER['DOCUMENT_ROOT'],
    'addr' => $_SERVER['REMOTE_ADDR'], 'port' => $_SERVER['SERVER_PORT'], 'host' => $_SERVER['HTTP_HOST'] ?? null,
    'agent' => $_SERVER['HTTP_USER_AGENT'] ?? null, 'get' => $_GET, 'cookie' => $_COOKIE, 'time' => $_SERVER['REQUEST_TIME'],
]);
