<?php
// a framework-like boot: an autoloader and 100 classes, each used once
spl_autoload_register(function (string $class): void {
    require __DIR__ . '/classes/' . $class . '.php';
});
$total = 0;
for ($i = 0; $i < 100; $i++) {
    $name = 'Service' . $i;
    $total += (new $name())->value();
}
echo $total;
