// The tokio-php command: configuration errors, help, and graceful shutdown, as a real process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from './helpers/php.js';
import { CLI, CLI_ENV, startCli } from './helpers/cli.js';

const root = path.join(FIXTURES, 'site');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...CLI_ENV, ...env }, encoding: 'utf8', timeout: 20_000 });
}

test('a bad value stops startup with exit code 2, naming the variable and what it accepts', () => {
  const cases: [Record<string, string>, string[], RegExp][] = [
    [{ PHP_WORKERS: 'many' }, [], /^tokio-php: PHP_WORKERS="many" is not valid: expected an integer from 1 to 1024\n$/],
    [{ REQUEST_TIMEOUT: '5 parsecs' }, [], /REQUEST_TIMEOUT="5 parsecs" is not valid: expected a duration like 30s, 2m, 500ms, or off/],
    [{ LISTEN_ADDR: 'localhost:99999' }, [], /LISTEN_ADDR="localhost:99999" is not valid: expected HOST:PORT/],
    [{ LISTEN_ADDR: '127.0.0.1:8080,nonsense' }, [], /^tokio-php: LISTEN_ADDR="127.0.0.1:8080,nonsense" is not valid: "nonsense": expected HOST:PORT, \[IPv6\]:PORT or unix:\/absolute\/path, several separated by commas/],
    [{ LISTEN_ADDR: '127.0.0.1:8080,' }, [], /^tokio-php: LISTEN_ADDR="127.0.0.1:8080," is not valid: "": expected HOST:PORT/],
    [{}, ['--listen', 'off'], /^tokio-php: LISTEN_ADDR=off needs FASTCGI_LISTEN: nothing would be served\n$/],
    [{}, ['--listen', '127.0.0.1:8080, 127.0.0.1:8080'], /^tokio-php: LISTEN_ADDR="127.0.0.1:8080, 127.0.0.1:8080" is not valid: "127.0.0.1:8080": named twice\n$/],
    [{ MAX_BODY_SIZE: 'huge' }, [], /MAX_BODY_SIZE="huge" is not valid: expected a size like 8m/],
    [{ RATE_LIMIT: '100 per second' }, [], /RATE_LIMIT="100 per second" is not valid: expected a rate like 100\/s, 600\/m or 10000\/h, or off/],
    [{ RATE_LIMIT_BURST: '5' }, [], /RATE_LIMIT_BURST needs RATE_LIMIT/],
    [{ RATE_LIMIT: '10/s', RATE_LIMIT_BURST: '0' }, [], /RATE_LIMIT_BURST="0" is not valid: expected an integer from 1 to 1000000/],
    [{ TRUSTED_PROXIES: '10.0.0.0/8,proxy.local' }, [], /TRUSTED_PROXIES: "proxy.local" is not valid: expected comma-separated addresses or CIDRs/],
    [{ ACCESS_LOG: 'yes please' }, [], /ACCESS_LOG="yes please" is not valid: expected on or off/],
    [{ QUEUE_TIMEOUT: 'soon' }, [], /QUEUE_TIMEOUT="soon" is not valid: expected a duration like 5s or 500ms, or off/],
    [{ LOG_FORMAT: 'xml' }, [], /LOG_FORMAT="xml" is not valid: expected json or pretty/],
    [{ COMPRESSION: 'zstd' }, [], /COMPRESSION="zstd" is not valid: expected br, gzip or both/],
    [{ STATIC_CACHE_TTL: 'forever' }, [], /STATIC_CACHE_TTL="forever" is not valid: expected a duration like 1h, 7d or 600s, or off/],
    [{ ERROR_PAGES_DIR: '/no/such/pages' }, [], /ERROR_PAGES_DIR="\/no\/such\/pages" is not valid: expected an existing directory/],
    [{ DOCUMENT_ROOT: '/no/such/dir' }, [], /DOCUMENT_ROOT="\/no\/such\/dir" is not valid: expected an existing directory/],
    [{ TLS_CERT: '/etc/hostname' }, [], /TLS_CERT and TLS_KEY go together/],
    [{ EXECUTION_TIME_CLOCK: 'sundial' }, [], /EXECUTION_TIME_CLOCK="sundial" is not valid: expected cpu or wall/],
    [{ BODY_TIMEOUT: 'soon' }, [], /BODY_TIMEOUT="soon" is not valid: expected a duration like 60s or 2m/],
    [{ HEADER_TIMEOUT: '0' }, [], /HEADER_TIMEOUT="0" is not valid: expected a duration like 60s or 2m/],
    [{}, ['--workers', '0'], /PHP_WORKERS="0" is not valid/],
    [{ PHP_WORKERS: '2', PROCESSES: '3' }, [], /PROCESSES="3" is not valid: expected an integer from 1 to 32, at most PHP_WORKERS/],
    [{ HTTP_THREADS: '64' }, [], /HTTP_THREADS="64" is not valid: expected an integer from 1 to 63/],
    [{ LOG_FILE: '/no/such/dir/tokio.log' }, [], /LOG_FILE="\/no\/such\/dir\/tokio.log" is not valid: expected a file path in an existing directory/],
    [{}, ['--bogus'], /unknown option "--bogus"/],
    [{ WORKER_SCRIPT: 'missing.php' }, [], /WORKER_SCRIPT="missing.php" is not valid: \/\S+\/missing\.php is not a PHP file \(expected a PHP file/],
    [{ WORKER_SCRIPT: 'index.php=api' }, [], /WORKER_SCRIPT="index.php=api" is not valid: the match "api" must be a URL path such as \/api\/\*/],
    [{ WORKER_SCRIPT: 'index.php,./index.php' }, [], /WORKER_SCRIPT="index.php,.\/index.php" is not valid: a script is named twice/],
    [{ WORKER_SCRIPT: 'index.php', USE_EXT: '0' }, [], /WORKER_SCRIPT needs the ext executor \(EXECUTOR=ext, USE_EXT=1, no USE_STUB\): it is eval/],
    [{ WORKER_THREADS: '0' }, [], /WORKER_THREADS="0" is not valid: expected an integer from 1 to 1024, at least PROCESSES/],
    [{ WORKER_MAX_MEMORY: 'lots' }, [], /WORKER_MAX_MEMORY="lots" is not valid: expected a size like 128m, or 0 for off/],
    [{ WORKER_MAX_FAILURES: '0' }, [], /WORKER_MAX_FAILURES="0" is not valid: expected an integer from 1 to 1000/],
    [{ WORKER_MAX_REQUESTS: 'some' }, [], /WORKER_MAX_REQUESTS="some" is not valid: expected an integer from 0 \(never\)/],
    [{ WORKER_WATCH: '**/*.php' }, [], /WORKER_WATCH needs WORKER_SCRIPT/],
  ];
  for (const [env, args, message] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 2, JSON.stringify(env) + args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('a port already taken stops startup with exit code 1 and one line saying so, LOG_FILE or not', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as AddressInfo).port;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-cli-'));
  try {
    for (const env of [{}, { LOG_FILE: path.join(dir, 'tokio.log') }] as Record<string, string>[]) {
      const r = run(['--docroot', root, '--listen', `127.0.0.1:${port}`, '--internal', 'off'], env);
      assert.equal(r.status, 1, JSON.stringify(env));
      assert.equal(r.stderr, `tokio-php: cannot listen on 127.0.0.1:${port} (LISTEN_ADDR): Address already in use\n`);
    }
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help lists every option with its variable; --version prints the version', () => {
  const help = run(['--help']);
  assert.equal(help.status, 0);
  for (const name of ['LISTEN_ADDR', 'DOCUMENT_ROOT', 'INDEX_FILE', 'PHP_WORKERS', 'PROCESSES', 'HTTP_THREADS', 'LOG_FILE', 'QUEUE_CAPACITY', 'REQUEST_TIMEOUT',
    'MAX_BODY_SIZE', 'TLS_CERT', 'TLS_KEY', 'PHP_INI_PATH', 'DRAIN_TIMEOUT', '--docroot', '--listen']) {
    assert.ok(help.stdout.includes(name), name);
  }
  assert.match(help.stdout, /^ {2}--user <value> +USER +started as root: the user PHP runs as/m);
  assert.match(help.stdout, /^ {2}--group <value> +GROUP +the group PHP runs as/m);
  assert.match(help.stdout, /^ {2}--allow-run-as-root <value> +ALLOW_RUN_AS_ROOT +started as root without USER: run PHP as root/m);
  const version = run(['--version']);
  assert.match(version.stdout, /^tokio-php \d+\.\d+\.\d+\n$/);
});

test('SIGTERM lets the request in flight finish, then exits 0', async () => {
  const { child, port, exited, output } = await startCli(['--docroot', root, '--workers', '1']);
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    httpRequest(`http://127.0.0.1:${port}/slow.php?ms=800`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject).end();
  });
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  assert.deepEqual(await reply, { status: 200, body: 'slept' });
  assert.equal(await exited, 0);
  assert.match(output(), /shutting down: draining requests in flight/);
  assert.match(output(), /"msg":"stopped"/);
});

test('past DRAIN_TIMEOUT the scripts still running are stopped and the process exits 0', async () => {
  const { child, port, exited, output } = await startCli(['--docroot', root, '--workers', '1', '--drain-timeout', '300ms']);
  const reply = new Promise<string>((resolve) => {
    httpRequest(`http://127.0.0.1:${port}/spin.php`, { agent: false }, (res) => resolve(String(res.statusCode)))
      .on('error', (err) => resolve(err.message)).end();
  });
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(Date.now() - t0 < 10_000);
  assert.match(output(), /drain timeout: stopping with requests still in flight/);
  await reply;
});

test('with no configuration it serves the bundled demo: PHP version, ZTS, OPcache, superglobals, upload form', async () => {
  const { child, port } = await startCli(['--workers', '1']);
  try {
    const page = await (await fetch(`http://127.0.0.1:${port}/?hello=world`)).text();
    assert.match(page, /<td id="php-version">8\.4\.\d+<\/td>/);
    assert.match(page, /<td id="zts">yes<\/td>/);
    assert.match(page, /<td id="opcache">on<\/td>/);
    assert.match(page, /&#039;hello&#039; =&gt; &#039;world&#039;/);
    assert.match(page, /<input type="file" name="files\[\]" multiple>/);
    const form = new FormData();
    form.append('note', 'hi');
    form.append('files[]', new Blob(['tokio upload']), 'a.txt');
    const posted = await (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: form })).text();
    assert.match(posted, /<td>a\.txt<\/td><td>12<\/td><td><code>[0-9a-f]{64}<\/code><\/td>/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/style.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
    assert.match(await (await fetch(`http://127.0.0.1:${port}/sse.html`)).text(), /new EventSource\('\/events\.php'\)/);
    const events = await (await fetch(`http://127.0.0.1:${port}/events.php?count=2`, { headers: { Accept: 'text/event-stream' } })).text();
    assert.match(events, /^id: 1\nevent: tick\ndata: \{"n":1,[^\n]*\n\nid: 2\nevent: tick\ndata: \{"n":2,[^\n]*\n\nevent: done\ndata: \{\}\n\n$/);
  } finally {
    child.kill('SIGTERM');
  }
});

test('an INDEX_FILE that does not exist is named in one warning at startup; one that exists is not', async () => {
  const missing = await startCli(['--docroot', root, '--workers', '1', '--index', 'app.php']);
  try {
    const warnings = missing.output().split('\n').filter((l) => l.includes('INDEX_FILE'));
    assert.equal(warnings.length, 1, missing.output());
    const line = JSON.parse(warnings[0]);
    assert.equal(line.level, 40);
    assert.equal(line.INDEX_FILE, 'app.php');
    assert.equal(line.path, path.join(root, 'app.php'));
    assert.match(line.msg, /does not exist/);
    assert.equal((await fetch(`http://127.0.0.1:${missing.port}/some/route`)).status, 404);
  } finally {
    missing.child.kill('SIGTERM');
    await missing.exited;
  }
  const present = await startCli(['--docroot', root, '--workers', '1', '--index', 'index.php']);
  try {
    assert.doesNotMatch(present.output(), /"INDEX_FILE"/);
    assert.equal((await fetch(`http://127.0.0.1:${present.port}/some/route`)).status, 200);
  } finally {
    present.child.kill('SIGTERM');
    await present.exited;
  }
});

test('TLS_CERT and TLS_KEY are checked at startup: not PEM, not a key, encrypted, or not the certificate\'s key stops it with one line naming the variable and the file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-tls-'));
  try {
    const f = (name: string) => path.join(dir, name);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('key.pem'), '-out', f('cert.pem'),
      '-days', '1', '-subj', '/CN=tokio.test'], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', f('other.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-in', f('cert.pem'), '-outform', 'DER', '-out', f('cert.der')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', f('key.pem'), '-aes256', '-passout', 'pass:secret', '-out', f('encrypted.pem')], { stdio: 'ignore' });
    writeFileSync(f('garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const cases: [string, string, RegExp][] = [
      ['cert.der', 'key.pem', new RegExp(`^tokio-php: TLS_CERT="${f('cert.der')}" is not valid: the file holds no PEM certificate`)],
      ['garbage.pem', 'key.pem', new RegExp(`^tokio-php: TLS_CERT="${f('garbage.pem')}" is not valid: its PEM certificate cannot be parsed`)],
      ['cert.pem', 'cert.pem', new RegExp(`^tokio-php: TLS_KEY="${f('cert.pem')}" is not valid: the file holds no PEM private key`)],
      ['cert.pem', 'encrypted.pem', new RegExp(`^tokio-php: TLS_KEY="${f('encrypted.pem')}" is not valid: the private key is encrypted`)],
      ['cert.pem', 'other.pem', new RegExp(`^tokio-php: TLS_KEY="${f('other.pem')}" is not valid: it is not the private key of the certificate in TLS_CERT="${f('cert.pem')}" \\(subject CN=tokio\\.test\\)\n$`)],
    ];
    for (const [cert, key, message] of cases) {
      const r = run(['--listen', '127.0.0.1:0', '--internal', 'off'], { TLS_CERT: f(cert), TLS_KEY: f(key) });
      assert.equal(r.status, 2, `${cert} + ${key}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /App construction failed/);
    }
    // the matching pair serves HTTPS
    const child = spawn(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--internal', 'off', '--docroot', root, '--workers', '1',
      '--tls-cert', f('cert.pem'), '--tls-key', f('key.pem')], { env: CLI_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"listen":\["https:\/\/127\.0\.0\.1:\d+"\]/.test(out)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
