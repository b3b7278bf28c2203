<?php
// hello.php in worker mode
while (tokio_handle_request(static function (): void {
    echo "Hello, World!";
})) {
}
