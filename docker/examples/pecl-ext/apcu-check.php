<?php
// What docker/test.sh (and docker/examples/check-local.sh) ask of the pecl-ext example: APCu is
// loaded, enabled, and its counter is shared by the requests (and the PHP threads) of a process.
header('Content-Type: application/json');
apcu_add('hits', 0);
echo json_encode([
    'apcu' => extension_loaded('apcu') && apcu_enabled(),
    'hits' => apcu_inc('hits'),
    'worker' => tokio_worker_id(),
]);
