<?php
// bootstrap.php in worker mode: the autoloader and the 100 services are made once, at boot;
// each request uses them, as a booted framework's container serves its controllers
spl_autoload_register(function (string $class): void {
    require __DIR__ . '/../classes/' . $class . '.php';
});
$services = [];
for ($i = 0; $i < 100; $i++) {
    $name = 'Service' . $i;
    $services[] = new $name();
}
while (tokio_handle_request(static function () use ($services): void {
    $total = 0;
    foreach ($services as $service) {
        $total += $service->value();
    }
    echo $total;
})) {
}
