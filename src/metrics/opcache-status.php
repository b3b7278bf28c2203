<?php
// Run by tokio-php on a worker thread when Prometheus scrapes: this process's OPcache figures.
$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
if (!is_array($s)) { echo 'null'; return; }
$m = $s['memory_usage']; $st = $s['opcache_statistics'];
echo json_encode([
  'used' => $m['used_memory'], 'free' => $m['free_memory'], 'wasted' => $m['wasted_memory'],
  'hits' => $st['hits'], 'misses' => $st['misses'], 'scripts' => $st['num_cached_scripts'],
  'restarts' => $st['oom_restarts'] + $st['hash_restarts'] + $st['manual_restarts'],
]);
