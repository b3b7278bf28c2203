<?php
// Server-sent events for sse.html: the server's clock, once a second, ten times.
header('Content-Type: text/event-stream');
$count = min(10, max(1, (int)($_GET['count'] ?? 10)));
for ($i = 1; $i <= $count; $i++) {
    $data = json_encode(['n' => $i, 'time' => date('H:i:s'), 'worker' => tokio_worker_id(), 'request' => tokio_request_id()]);
    echo "id: $i\nevent: tick\ndata: $data\n\n";
    flush();
    if ($i < $count) sleep(1);
}
echo "event: done\ndata: {}\n\n";
