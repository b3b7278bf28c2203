<?php
// The demo page: what PHP runs on, and what it received.
$opcache = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
$uploaded = [];
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    foreach ($_FILES['files']['name'] ?? [] as $i => $name) {
        if ($_FILES['files']['error'][$i] === UPLOAD_ERR_OK) {
            $uploaded[] = [$name, $_FILES['files']['size'][$i], hash_file('sha256', $_FILES['files']['tmp_name'][$i])];
        }
    }
}
function dump(array $a): string {
    ksort($a);
    return htmlspecialchars(var_export($a, true));
}
?><!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tokio-php</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>tokio-php</h1>
<table class="facts">
  <tr><th>PHP</th><td id="php-version"><?= PHP_VERSION ?></td></tr>
  <tr><th>Thread safety (ZTS)</th><td id="zts"><?= PHP_ZTS ? 'yes' : 'no' ?></td></tr>
  <tr><th>OPcache</th><td id="opcache"><?= $opcache && $opcache['opcache_enabled'] ? 'on' : 'off' ?></td></tr>
  <tr><th>SAPI</th><td><?= PHP_SAPI ?></td></tr>
  <tr><th>Server</th><td><?= htmlspecialchars($_SERVER['SERVER_SOFTWARE']) ?></td></tr>
</table>

<p><a href="/sse.html">Server-sent events</a>: PHP streaming to an EventSource.</p>

<h2>Upload</h2>
<form method="post" enctype="multipart/form-data" action="/">
  <input type="text" name="note" placeholder="a note">
  <input type="file" name="files[]" multiple>
  <button type="submit">Send</button>
</form>
<?php if ($uploaded): ?>
<table class="uploads">
  <tr><th>file</th><th>bytes</th><th>sha256</th></tr>
  <?php foreach ($uploaded as [$name, $size, $hash]): ?>
  <tr><td><?= htmlspecialchars($name) ?></td><td><?= $size ?></td><td><code><?= $hash ?></code></td></tr>
  <?php endforeach ?>
</table>
<?php endif ?>

<h2>$_GET</h2><pre><?= dump($_GET) ?></pre>
<h2>$_POST</h2><pre><?= dump($_POST) ?></pre>
<h2>$_COOKIE</h2><pre><?= dump($_COOKIE) ?></pre>
<h2>$_FILES</h2><pre><?= dump($_FILES) ?></pre>
<h2>$_SERVER</h2><pre><?= dump(array_filter($_SERVER, fn($k) => !getenv($k) || str_starts_with($k, 'HTTP_') || in_array($k, ['REQUEST_METHOD', 'REQUEST_URI', 'QUERY_STRING', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'DOCUMENT_ROOT', 'REMOTE_ADDR', 'SERVER_PORT'], true), ARRAY_FILTER_USE_KEY)) ?></pre>
</body>
</html>
