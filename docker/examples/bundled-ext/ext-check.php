<?php
// What docker/test.sh (and docker/examples/check-local.sh) ask of the bundled-ext example.
header('Content-Type: application/json');
$shm = shmop_open(random_int(1, PHP_INT_MAX), 'c', 0600, 64);
shmop_write($shm, 'tokio', 0);
$read = shmop_read($shm, 0, 5);
shmop_delete($shm);
echo json_encode([
    'shmop' => extension_loaded('shmop') && $read === 'tokio',
    'bz2' => extension_loaded('bz2') && bzdecompress(bzcompress(str_repeat('tokio', 100))) === str_repeat('tokio', 100),
]);
