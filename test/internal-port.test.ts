// The internal port over real sockets against the real command: /metrics scraped during real
// traffic and checked with Prometheus's own promtool, /health, /ready during a drain, /status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { FIXTURES } from './helpers/php.js';
import { CLI, CLI_ENV, startCli } from './helpers/cli.js';
import { get, raw } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
const workerRoot = path.join(FIXTURES, 'worker');
const WORKER_MODE = ['--docroot', workerRoot, '--worker', 'index.php', '--workers', '1', '--worker-threads', '1', '--processes', '1'];

/** Prometheus's text exposition as name{labels} -> value. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([^ ]+) (\S+)$/.exec(line);
    assert.ok(m, `exposition line ${JSON.stringify(line)}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include every one of `labels`. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!;
    if (m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += value;
  }
  return total;
}

async function scrape(port: number): Promise<{ text: string; samples: Map<string, number> }> {
  const r = await get(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = r.body.toString();
  return { text, samples: parseExposition(text) };
}

test('/metrics during real traffic: counts by status class and upstream equal the requests sent, histograms observed, promtool accepts it', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    const sent = { php: 0, static: 0, missing: 0 };
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 10; i++) {
        assert.equal((await get(`${base}/info.php`, { agent: false })).status, 200);
        sent.php++;
      }
      for (let i = 0; i < 3; i++) {
        assert.equal((await get(`${base}/hello.txt`, { agent: false })).status, 200);
        sent.static++;
        assert.equal((await get(`${base}/no-such-page`, { agent: false })).status, 404);
        sent.missing++;
      }
    }));
    const { text, samples } = await scrape(cli.internalPort);
    // both processes served: every count is a sum over them
    assert.equal(sum(samples, 'tokio_php_requests_total', { status: '200', upstream: 'php', method: 'GET' }), sent.php);
    assert.equal(sum(samples, 'tokio_php_requests_total', { status: '200', upstream: 'static' }), sent.static);
    assert.equal(sum(samples, 'tokio_php_requests_total', { status: '404' }), sent.missing);
    assert.equal(sum(samples, 'tokio_php_requests_total'), sent.php + sent.static + sent.missing);
    assert.equal(sum(samples, 'tokio_php_request_duration_seconds_count', { upstream: 'php' }), sent.php);
    assert.equal(sum(samples, 'tokio_php_request_duration_seconds_bucket', { upstream: 'php', le: '+Inf' }), sent.php);
    assert.ok(sum(samples, 'tokio_php_request_duration_seconds_sum', { upstream: 'php' }) > 0);
    assert.equal(sum(samples, 'tokio_php_php_execution_seconds_count'), sent.php);
    assert.equal(sum(samples, 'tokio_php_queue_wait_seconds_count'), sent.php);
    assert.equal(sum(samples, 'tokio_php_workers', { state: 'busy' }) + sum(samples, 'tokio_php_workers', { state: 'idle' }), 2);
    assert.equal(sum(samples, 'tokio_php_queue_capacity'), 200);
    assert.ok(sum(samples, 'tokio_php_sent_bytes_total') > 0);
    // what the scrape itself ran (OPcache's status script) aside, the workers ran the PHP requests
    assert.ok(sum(samples, 'tokio_php_worker_requests_total') >= sent.php);
    assert.ok(sum(samples, 'tokio_php_opcache_memory_used_bytes') > 0, 'OPcache figures');
    assert.ok(sum(samples, 'process_resident_memory_bytes') > 0, "prom-client's default metrics");
    assert.equal(sum(samples, 'tokio_php_processes'), 2);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(promtool.error, undefined, 'promtool is installed (Debian: apt-get install prometheus; npm test does it)');
    assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('a 503 flood moves rejected_total{reason="queue_full"}, a 504 moves timeouts_total; counters survive a reload', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '1', '--queue', '0', '--timeout', '1s']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    const slow = get(`${base}/slow.php?ms=800`, { agent: false });
    await sleep(200);
    const flood = await Promise.all(Array.from({ length: 5 }, () => get(`${base}/info.php`, { agent: false })));
    assert.deepEqual(flood.map((r) => r.status), [503, 503, 503, 503, 503]);
    assert.equal((await slow).status, 200);
    assert.equal((await get(`${base}/spin.php`, { agent: false })).status, 504);
    let { samples } = await scrape(cli.internalPort);
    assert.equal(sum(samples, 'tokio_php_rejected_total', { reason: 'queue_full' }), 5);
    assert.equal(sum(samples, 'tokio_php_requests_total', { status: '503' }), 5);
    assert.equal(sum(samples, 'tokio_php_timeouts_total'), 1);
    assert.equal(sum(samples, 'tokio_php_requests_total', { status: '504' }), 1);

    cli.child.kill('SIGHUP');
    await cli.waitFor(/"msg":"reloaded"/);
    await cli.waitFor(/"process":0,"msg":"stopped"/);
    ({ samples } = await scrape(cli.internalPort));
    assert.equal(sum(samples, 'tokio_php_rejected_total', { reason: 'queue_full' }), 5, 'the old process counted them');
    assert.equal(sum(samples, 'tokio_php_timeouts_total'), 1);
    assert.equal(sum(samples, 'tokio_php_process_replacements_total', { reason: 'reload' }), 1);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('QUEUE_TIMEOUT: a request that waited too long for a worker gets 503 and is counted; one whose client left is dropped before it runs', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '1', '--queue-timeout', '300ms']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    const slow = get(`${base}/slow.php?ms=1000`, { agent: false });
    await sleep(100);
    const t0 = Date.now();
    const waited = await get(`${base}/info.php`, { agent: false });
    assert.equal(waited.status, 503);
    assert.equal(waited.headers['retry-after'], '1');
    assert.ok(Date.now() - t0 < 900, `answered after ${Date.now() - t0} ms, not when the worker freed`);
    // a client that gives up while queued: its request never runs
    const gone = httpAbortAfter(`${base}/info.php`, 100);
    await gone;
    assert.equal((await slow).status, 200);
    await sleep(100);
    const { samples } = await scrape(cli.internalPort);
    assert.equal(sum(samples, 'tokio_php_rejected_total', { reason: 'wait_timeout' }), 1);
    assert.equal(sum(samples, 'tokio_php_rejected_total', { reason: 'client_gone' }), 1);
    assert.equal(sum(samples, 'tokio_php_php_execution_seconds_count'), 1, 'only the slow script ran');
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

/** A GET whose client closes the connection after `ms`, before any answer. */
function httpAbortAfter(url: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false });
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => { req.destroy(); resolve(); }, ms);
  });
}

test('/health stays 200 and /ready turns 503 while the server drains; /status is php-fpm\'s page', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '1', '--drain-timeout', '5s']);
  const internal = `http://127.0.0.1:${cli.internalPort}`;
  const health = await get(`${internal}/health`);
  assert.equal(health.status, 200);
  const h = JSON.parse(health.body.toString());
  assert.equal(h.status, 'ok');
  assert.equal(h.workers, 1);
  assert.match(h.php, /^8\.4\./);
  assert.equal((await get(`${internal}/ready`)).status, 200);

  const status = await get(`${internal}/status`);
  assert.equal(status.status, 200);
  const lines = status.body.toString().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['pool:                 tokio-php', 'process manager:      static']);
  assert.match(status.body.toString(), /^total processes:      1$/m);
  const json = JSON.parse((await get(`${internal}/status?json`)).body.toString());
  assert.equal(json['total processes'], 1);
  assert.equal(json['listen queue len'], 100);
  // /status needs no PHP: no worker ran anything for the two pages (OPcache's script is /metrics' alone)
  assert.equal(sum((await scrape(cli.internalPort)).samples, 'tokio_php_worker_requests_total'), 0);

  const slow = get(`http://127.0.0.1:${cli.port}/slow.php?ms=1500`, { agent: false });
  await sleep(200);
  cli.child.kill('SIGTERM');
  await cli.waitFor(/shutting down/, 2); // the supervisor's line and the process's
  assert.equal((await get(`${internal}/ready`)).status, 503);
  assert.equal((await get(`${internal}/health`)).status, 200);
  // The public port refuses new connections while the slow request drains: a load balancer moves
  // on instead of waiting. The process's accept thread lets go of the socket a moment after its
  // log line, so a connection or two may still be taken (and served) before that.
  let refused = false;
  for (let i = 0; i < 20 && !refused; i++) {
    refused = await get(`http://127.0.0.1:${cli.port}/info.php`, { agent: false }).then(() => false,
      (err: Error) => { assert.match(err.message, /ECONNREFUSED/); return true; });
    if (!refused) await sleep(25);
  }
  assert.ok(refused, 'the public port still accepts connections while draining');
  assert.equal((await slow).status, 200);
  assert.equal(await cli.exited, 0);
});

test('INTERNAL_ADDR: a taken address stops startup naming the variable; off serves no internal port', async () => {
  const first = await startCli(['--docroot', root, '--workers', '1']);
  try {
    const taken = spawnSync(process.execPath, [CLI,
      '--listen', '127.0.0.1:0', '--internal', `127.0.0.1:${first.internalPort}`, '--docroot', root], { env: CLI_ENV, encoding: 'utf8', timeout: 20_000 });
    assert.equal(taken.status, 1);
    assert.match(taken.stderr, new RegExp(`INTERNAL_ADDR 127\\.0\\.0\\.1:${first.internalPort} cannot be listened on \\(EADDRINUSE\\)`));
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
  }
  const off = await startCli(['--docroot', root, '--workers', '1', '--internal', 'off']);
  try {
    assert.equal(off.internalPort, 0);
    assert.match(off.output(), /"internal":"off"/);
  } finally {
    off.child.kill('SIGTERM');
    await off.exited;
  }
  assert.throws(() => execFileSync(process.execPath, [CLI, '--internal', 'nope'], { env: CLI_ENV, stdio: 'pipe' }),
    (err: { stderr: Buffer }) => /INTERNAL_ADDR="nope" is not valid: expected HOST:PORT, e.g. 0.0.0.0:9090, or off/.test(err.stderr.toString()));
});

test('open_connections counts the client connections open on the public port, over every process', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2']);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    await Promise.all(Array.from({ length: 4 }, () => get(`${base}/slow.php?ms=200`, { agent })));
    assert.equal(sum((await scrape(cli.internalPort)).samples, 'tokio_php_open_connections'), 4);
    agent.destroy();
    let open = -1;
    for (let i = 0; i < 50 && open !== 0; i++) {
      await sleep(50);
      open = sum((await scrape(cli.internalPort)).samples, 'tokio_php_open_connections');
    }
    assert.equal(open, 0);
  } finally {
    agent.destroy();
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('MAX_REQUESTS replaces a classic PHP thread after that many requests, as php-fpm\'s pm.max_requests: requests go on, /metrics counts it', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '1', '--max-requests', '3']);
  try {
    for (let i = 0; i < 7; i++) assert.equal((await get(`http://127.0.0.1:${cli.port}/whoami.php`)).status, 200);
    // after the 3rd and the 6th request (a thread's replacement starts as its last answer goes out)
    let restarts = 0;
    for (let i = 0; i < 40 && restarts < 2; i++) {
      restarts = sum((await scrape(cli.internalPort)).samples, 'tokio_php_worker_restarts_total');
      if (restarts < 2) await sleep(50);
    }
    assert.equal(restarts, 2);
  } finally {
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
  }
});

test('ADMIN_TOKEN: POST /workers/restart needs it as a bearer token (401 without it or with a wrong one, 202 with it); reading endpoints stay open; the token is never logged nor seen by PHP', async () => {
  const token = 'tok_' + 'x'.repeat(12) + '-42';
  const cli = await startCli(WORKER_MODE, { ADMIN_TOKEN: token });
  try {
    const restart = `http://127.0.0.1:${cli.internalPort}/workers/restart`;
    const none = await get(restart, { method: 'POST' });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="tokio-php"');
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, 'Bearer ', `Basic ${token}`, token]) {
      const wrong = await get(restart, { method: 'POST', headers: { Authorization: authorization } });
      assert.equal(wrong.status, 401, authorization);
      assert.match(String(wrong.headers['www-authenticate']), /^Bearer realm="tokio-php"/);
    }
    assert.equal((await get(restart, { headers: { Authorization: `Bearer ${token}` } })).status, 405, 'GET');
    const right = await get(restart, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(right.status, 202);
    assert.deepEqual(JSON.parse(right.body.toString()), { restarting: true });
    await cli.waitFor(/"reason":"reload"[^\n]*"msg":"worker script restarting"/);
    for (const page of ['/health', '/ready', '/metrics', '/status', '/status?json']) {
      assert.equal((await get(`http://127.0.0.1:${cli.internalPort}${page}`)).status, 200, page);
    }
    const env = JSON.parse((await get(`http://127.0.0.1:${cli.port}/env.php?name=ADMIN_TOKEN`)).body.toString());
    assert.deepEqual(env, { getenv: false, server: null, env: null });
    await cli.waitFor(/bearer token: 401/, 6, 5_000);
    assert.ok(!cli.output().includes(token), 'the token is not in the log');
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('ADMIN_TOKEN set but empty, or not a bearer token, stops startup naming the variable (and not showing the value)', () => {
  for (const [value, message] of [['', /^tokio-php: ADMIN_TOKEN is set but empty/], ['two words', /^tokio-php: ADMIN_TOKEN is not valid \(its value is not shown\)/]] as const) {
    const r = spawnSync(process.execPath, [CLI, '--internal', 'off'], { env: { PATH: process.env.PATH, ADMIN_TOKEN: value }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, message);
    if (value) assert.ok(!r.stderr.includes(value));
  }
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.match(help, /\(no flag: environment only\) +ADMIN_TOKEN +the internal port's state-changing endpoints/);
});

/**
 * A client that is not on loopback: a network namespace joined to this one by a veth pair, the
 * host's end 10.200.N.1, the namespace's 10.200.N.2. Null (the test skipped, saying why) without
 * root or iproute2.
 */
function otherHost(t: TestContext): { hostAddress: string; clientAddress: string; curl(args: string[]): string; remove(): void } | null {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to make a network namespace (CI runs as root)');
    return null;
  }
  for (const tool of ['ip', 'curl']) {
    if (spawnSync(tool, ['-V']).error) {
      t.skip(`needs ${tool} (Debian: apt-get install ${tool === 'ip' ? 'iproute2' : tool}; npm test's test/tools/install.sh does it as root)`);
      return null;
    }
  }
  const id = process.pid % 100_000;
  const ns = `tokio-admin-${id}`;
  const hostEnd = `tka${id}h`;
  const nsEnd = `tka${id}n`;
  const net = `10.200.${id % 250}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', hostEnd]); // gone with the namespace, unless that failed first
  };
  remove(); // what a killed run may have left
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd);
    ip('link', 'set', nsEnd, 'netns', ns);
    ip('addr', 'add', `${net}.1/24`, 'dev', hostEnd);
    ip('link', 'set', hostEnd, 'up');
    ip('-n', ns, 'addr', 'add', `${net}.2/24`, 'dev', nsEnd);
    ip('-n', ns, 'link', 'set', nsEnd, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return {
    hostAddress: `${net}.1`,
    clientAddress: `${net}.2`,
    // prints the status code
    curl: (args) => execFileSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args], { encoding: 'utf8' }),
    remove,
  };
}

test('without ADMIN_TOKEN, POST /workers/restart answers loopback clients only: a client from another network namespace gets 403, and reads the other pages', async (t) => {
  const other = otherHost(t);
  if (!other) return;
  try {
    const cli = await startCli([...WORKER_MODE, '--internal', '0.0.0.0:0']);
    try {
      const remote = `http://${other.hostAddress}:${cli.internalPort}`;
      assert.equal(other.curl(['-X', 'POST', `${remote}/workers/restart`]), '403');
      await cli.waitFor(new RegExp(`"remote":"${other.clientAddress.replace(/\./g, '\\.')}"[^\n]*: 403`), 1, 5_000);
      for (const page of ['/health', '/ready', '/metrics', '/status']) assert.equal(other.curl([`${remote}${page}`]), '200', page);
      assert.equal((await get(`http://127.0.0.1:${cli.internalPort}/workers/restart`, { method: 'POST' })).status, 202, 'from loopback');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
    // with ADMIN_TOKEN, the token opens it from anywhere the port is bound
    const cli2 = await startCli([...WORKER_MODE, '--internal', `${other.hostAddress}:0`], { ADMIN_TOKEN: 'remote-admin-token' });
    try {
      const restart = `http://${other.hostAddress}:${cli2.internalPort}/workers/restart`;
      assert.equal(other.curl(['-X', 'POST', restart]), '401');
      assert.equal(other.curl(['-X', 'POST', '-H', 'Authorization: Bearer remote-admin-token', restart]), '202');
    } finally {
      cli2.child.kill('SIGTERM');
      await cli2.exited;
    }
  } finally {
    other.remove();
  }
});

test('/status as php-fpm defines it, over 2 processes and 2 event loops: max active processes is 1 after sequential requests and 2 after two at once; accepted conn counts PHP requests', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4', '--processes', '2', '--http-threads', '2']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    const status = async () => JSON.parse((await get(`http://127.0.0.1:${cli.internalPort}/status?json`)).body.toString());
    // one connection each: the processes and their loops share them out
    for (let i = 0; i < 8; i++) assert.equal((await get(`${base}/info.php?i=${i}`, { agent: false })).status, 200);
    assert.equal((await get(`${base}/hello.txt`, { agent: false })).status, 200); // static: not the pool's
    let s = await status();
    assert.equal(s['accepted conn'], 8);
    assert.equal(s['max active processes'], 1, 'requests one after another: never two PHP threads at once');
    assert.equal(s['max listen queue'], 0);
    assert.equal(s['active processes'], 0);
    assert.equal(s['idle processes'], 4);
    assert.equal(s['slow requests'], 0);

    // two held at once
    const held = Promise.all([0, 1].map(() => get(`${base}/slow.php?ms=1000`, { agent: false })));
    let active = 0;
    for (let i = 0; i < 40 && active < 2; i++) {
      await sleep(25);
      active = (await status())['active processes'];
    }
    assert.equal(active, 2, 'two PHP threads run the two requests');
    assert.match((await get(`http://127.0.0.1:${cli.internalPort}/status`)).body.toString(), /^active processes: +2$/m);
    assert.deepEqual((await held).map((r) => r.status), [200, 200]);
    s = await status();
    assert.equal(s['accepted conn'], 10);
    assert.equal(s['max active processes'], 2);
    assert.equal(s['active processes'], 0);
    assert.match((await get(`http://127.0.0.1:${cli.internalPort}/status`)).body.toString(), /^max active processes: 2$/m);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('/status?full: php-fpm\'s block per PHP thread of every process, the request it runs or the last it ran, as text and ?full&json', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4', '--processes', '2']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    const full = async () => JSON.parse((await get(`http://127.0.0.1:${cli.internalPort}/status?full&json`)).body.toString());
    let s = await full();
    assert.equal(s.processes.length, 4, 'a block per PHP thread of every process');
    assert.deepEqual(Object.keys(s.processes[0]), ['pid', 'state', 'start time', 'start since', 'requests', 'request duration', 'request method',
      'request uri', 'content length', 'user', 'script', 'last request cpu', 'last request memory']);
    assert.deepEqual(s.processes.map((p: Record<string, unknown>) => [p.state, p.requests, p['request method'], p.script]),
      Array(4).fill(['Idle', 0, '-', '-']));

    // two held: their blocks show them running
    const held = Promise.all([0, 1].map(() => get(`${base}/slow.php?ms=1000`, { agent: false })));
    let running: Record<string, unknown>[] = [];
    for (let i = 0; i < 40 && running.length < 2; i++) {
      await sleep(25);
      running = (await full()).processes.filter((p: Record<string, unknown>) => p.state === 'Running');
    }
    assert.equal(running.length, 2, 'two PHP threads run the two requests');
    for (const p of running) {
      assert.equal(p['request method'], 'GET');
      assert.equal(p['request uri'], '/slow.php?ms=1000');
      assert.equal(p.script, path.join(root, 'slow.php'));
      assert.ok(Number(p['request duration']) > 0);
      assert.equal(p['last request cpu'], 0, 'known once the request ends');
      assert.equal(p['last request memory'], 0);
    }
    assert.deepEqual((await held).map((r) => r.status), [200, 200]);
    // a Basic user's POST: its user, never its password
    const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    assert.equal((await get(`${base}/info.php?x=1`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=12345', agent: false })).status, 200);

    s = await full();
    assert.equal(new Set(s.processes.map((p: Record<string, number>) => p.pid)).size, 4, 'thread ids, one each');
    assert.ok(s.processes.every((p: Record<string, number>) => p.pid > 0 && p.pid !== cli.child.pid));
    assert.equal(s.processes.reduce((n: number, p: Record<string, number>) => n + p.requests, 0), 3);
    const post = s.processes.find((p: Record<string, unknown>) => p['request method'] === 'POST');
    assert.ok(post, JSON.stringify(s.processes));
    assert.equal(post.state, 'Idle');
    assert.equal(post['request uri'], '/info.php?x=1');
    assert.equal(post.user, 'alice');
    assert.equal(post['content length'], 7);
    assert.ok(post['last request memory'] > 0);
    assert.ok(post['last request cpu'] >= 0 && post['last request cpu'] <= 100.5, String(post['last request cpu']));
    assert.ok(post['request duration'] > 0);
    assert.ok(!JSON.stringify(s).includes('secret'), 'the password is not shown');
    assert.equal(s.processes.filter((p: Record<string, unknown>) => p['request uri'] === '/slow.php?ms=1000').length, 2,
      'idle threads show their last request');

    const text = (await get(`http://127.0.0.1:${cli.internalPort}/status?full`)).body.toString();
    const blocks = text.split('\n************************\n');
    assert.match(blocks[0], /^pool: +tokio-php\n[^]*\nslow requests: +0\n$/);
    assert.equal(blocks.length, 5);
    for (const block of blocks.slice(1)) {
      assert.match(block, /^pid: +\d+\nstate: +Idle\nstart time: +\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\nstart since: +\d+\nrequests: +\d+\nrequest duration: +\d+\nrequest method: +\S+\nrequest URI: +\S+\ncontent length: +\d+\nuser: +\S+\nscript: +\S+\nlast request cpu: +\d+\.\d\d\nlast request memory: +\d+\n$/);
    }
    assert.match(text, /^request URI: +\/info\.php\?x=1\nrequest method: |^request method: +POST\nrequest URI: +\/info\.php\?x=1$/m);
    assert.match(text, /^user: +alice$/m);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('/status?html and ?full&html: php-fpm\'s HTML tables, every value escaped', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '2']);
  try {
    // as sent, unencoded (a browser or Node's client would percent-encode it)
    assert.match(await raw(cli.port, 'GET /info.php?q=<b>"x"&amp HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
    const internal = `http://127.0.0.1:${cli.internalPort}`;
    const page = await get(`${internal}/status?html`);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const html = page.body.toString();
    assert.match(html, /^<!DOCTYPE html>\n/);
    assert.match(html, /<tr><th>accepted conn<\/th><td>1<\/td><\/tr>/);
    assert.match(html, /<tr><th>max active processes<\/th><td>1<\/td><\/tr>/);
    assert.equal(html.match(/<table/g)?.length, 1, 'no per-thread table without ?full');
    const full = (await get(`${internal}/status?full&html`)).body.toString();
    assert.equal(full.match(/<table/g)?.length, 2);
    assert.match(full, /<tr><th>pid<\/th><th>state<\/th>[^\n]*<th>last request memory<\/th><\/tr>/);
    assert.equal(full.match(/<tr><td>/g)?.length, 2, 'a row per PHP thread');
    assert.match(full, /<td>\/info\.php\?q=&#60;b&#62;&#34;x&#34;&#38;amp<\/td>/);
    assert.ok(!full.includes('<b>'));
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('every variable a metric\'s help text names is one the server reads (--help lists it)', async () => {
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const variables = new Set([...help.matchAll(/ ([A-Z][A-Z0-9_]+) {2,}/g)].map((m) => m[1]));
  assert.ok(variables.has('MAX_REQUESTS') && variables.has('QUEUE_TIMEOUT'), help);
  // worker mode: every family, the worker scripts' included
  const cli = await startCli(WORKER_MODE);
  try {
    const { text } = await scrape(cli.internalPort);
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP tokio_php_'));
    assert.ok(helps.length > 20);
    const named = helps.flatMap((l) => [...l.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g)].map((m) => m[0]));
    assert.ok(named.length >= 5, named.join(' '));
    for (const name of named) assert.ok(variables.has(name), `${name} in ${helps.find((l) => l.includes(name))}`);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});
