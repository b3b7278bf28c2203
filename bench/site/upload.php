<?php
// The uploaded file's size and SHA-1, for bench/uploads.mjs.
header('Content-Type: application/json');
$f = $_FILES['up'] ?? ['error' => -1];
echo json_encode(['error' => $f['error'], 'size' => $f['size'] ?? 0, 'sha1' => $f['error'] === 0 ? sha1_file($f['tmp_name']) : null]);
