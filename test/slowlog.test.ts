// The slow log (SLOWLOG_TIMEOUT, php-fpm's request_slowlog_timeout) of the real command: a PHP
// request still running past the timeout is logged once, with its PHP backtrace in php-fpm's slow
// log lines, counted on /status and /metrics, and answered as if nothing had looked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from './helpers/php.js';
import { CLI, CLI_ENV, startCli, type RunningCli } from './helpers/cli.js';
import { get } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');

interface SlowEntry {
  level: number;
  msg: string;
  requestId: string;
  traceId: string;
  worker: number;
  tid: number;
  method: string;
  uri: string;
  script: string;
  elapsedMs: number;
  trace: string;
}

/** The log's slow log entries so far. */
function slowEntries(cli: RunningCli): SlowEntry[] {
  return cli.output().split('\n').filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as SlowEntry).filter((e) => e.trace !== undefined);
}

/** A trace's lines, each checked to start as php-fpm's do ("[0x<frame address>] "), without it. */
function frames(trace: string): string[] {
  return trace.split('\n').map((line) => {
    const m = /^\[0x[0-9a-f]{16}\] (.+)$/.exec(line);
    assert.ok(m, `php-fpm's slow log line: ${JSON.stringify(line)}`);
    return m[1];
  });
}

async function internal(cli: RunningCli, page: string): Promise<string> {
  const r = await get(`http://127.0.0.1:${cli.internalPort}${page}`);
  assert.equal(r.status, 200);
  return r.body.toString();
}

/** /status's 'slow requests' and /metrics's tokio_php_slow_requests_total */
async function counted(cli: RunningCli): Promise<{ status: number; metric: number }> {
  const status = JSON.parse(await internal(cli, '/status?json'))['slow requests'] as number;
  const metric = /^tokio_php_slow_requests_total (\d+)$/m.exec(await internal(cli, '/metrics'));
  assert.ok(metric, 'tokio_php_slow_requests_total is exposed');
  return { status, metric: Number(metric[1]) };
}

let cli: RunningCli;
before(async () => {
  cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '1', '--http-threads', '1'], { SLOWLOG_TIMEOUT: '1s' });
});
after(async () => {
  cli.child.kill('SIGTERM');
  await cli.exited;
});

test('a script blocked in sleep() past SLOWLOG_TIMEOUT: answered whole, logged once with every frame as php-fpm does; a quick one is not', async () => {
  const base = `http://127.0.0.1:${cli.port}`;
  assert.deepEqual(await counted(cli), { status: 0, metric: 0 });
  const [slow, quick] = await Promise.all([
    get(`${base}/nested-sleep.php?s=2`, { headers: { 'X-Request-Id': 'sleeper' } }),
    get(`${base}/nested-sleep.php?s=0`, { headers: { 'X-Request-Id': 'quick' } }),
  ]);
  assert.deepEqual([slow.status, slow.body.toString()], [200, 'slept']);
  assert.deepEqual([quick.status, quick.body.toString()], [200, 'slept']);
  await cli.waitFor(/executing too slow/);
  const entries = slowEntries(cli);
  // the quick one was answered before anything looked: it never will be logged
  assert.deepEqual(entries.map((e) => e.requestId), ['sleeper']);
  const [e] = entries;
  const file = path.join(root, 'nested-sleep.php');
  // innermost first, each with the line it was called from; the top-level code ends the trace
  assert.deepEqual(frames(e.trace), [`sleep() ${file}:4`, `inner() ${file}:7`, `outer() ${file}:9`]);
  assert.equal(e.level, 40); // warn
  assert.deepEqual([e.method, e.uri, e.script], ['GET', '/nested-sleep.php?s=2', file]);
  assert.equal(e.traceId, slow.headers.traceparent!.toString().split('-')[1]);
  const m = /^script '(.+)' \(request: "GET \/nested-sleep\.php\?s=2"\) executing too slow \((\d+\.\d{6}) sec\)$/.exec(e.msg);
  assert.ok(m, e.msg);
  assert.equal(m[1], file);
  assert.ok(Number(m[2]) >= 1 && e.elapsedMs >= 1000, `${m[2]} s, ${e.elapsedMs} ms: past the timeout`);
  // the thread that ran it, as /status?full names it
  const threads = (JSON.parse(await internal(cli, '/status?full&json')) as { processes: { pid: number }[] }).processes;
  assert.ok(threads.some((t) => t.pid === e.tid), `thread ${e.tid} is one of ${threads.map((t) => t.pid).join(', ')}`);
  assert.ok(e.worker === 0 || e.worker === 1);
  assert.deepEqual(await counted(cli), { status: 1, metric: 1 });
});

test('a CPU-bound loop past SLOWLOG_TIMEOUT is caught between two opcodes, in its function, with its line', async () => {
  const busy = await get(`http://127.0.0.1:${cli.port}/busy-function.php?ms=2000`, { headers: { 'X-Request-Id': 'spinner' } });
  assert.deepEqual([busy.status, busy.body.toString()], [200, 'spun']);
  await cli.waitFor(/executing too slow/, 2);
  const entries = slowEntries(cli).filter((e) => e.requestId === 'spinner');
  assert.equal(entries.length, 1);
  const file = path.join(root, 'busy-function.php');
  const lines = frames(entries[0].trace);
  // it reads the clock once in a million turns: caught inside that call, the call is the first frame
  if (lines.length === 2) assert.equal(lines.shift(), `microtime() ${file}:6`);
  assert.deepEqual(lines, [`spin() ${file}:9`]);
  assert.deepEqual(await counted(cli), { status: 2, metric: 2 });
});

test('worker mode: a request past SLOWLOG_TIMEOUT shows the handler, tokio_handle_request() and the worker script', async () => {
  const workerRoot = path.join(FIXTURES, 'worker');
  const file = path.join(workerRoot, 'index.php');
  const source = readFileSync(file, 'utf8').split('\n');
  const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1;
  const worker = await startCli(['--docroot', workerRoot, '--worker', 'index.php', '--workers', '1', '--worker-threads', '1', '--processes', '1'],
    { SLOWLOG_TIMEOUT: '1s' });
  try {
    const r = await get(`http://127.0.0.1:${worker.port}/sleep?ms=2000`, { headers: { 'X-Request-Id': 'worker-sleeper' } });
    assert.equal(r.status, 200);
    await worker.waitFor(/executing too slow/);
    const entries = slowEntries(worker);
    assert.deepEqual(entries.map((e) => e.requestId), ['worker-sleeper']);
    assert.deepEqual(frames(entries[0].trace), [
      `usleep() ${file}:${lineOf("usleep((int)$_GET['ms']")}`,
      `{closure:${file}:${lineOf('$handler = static function')}}() ${file}:${lineOf('tokio_handle_request($handler)')}`,
      `tokio_handle_request() ${file}:${lineOf('tokio_handle_request($handler)')}`,
    ]);
    assert.deepEqual(await counted(worker), { status: 1, metric: 1 });
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
});

test('an invalid SLOWLOG_TIMEOUT stops startup, naming the variable and what it accepts', () => {
  const r = spawnSync(process.execPath, [CLI, '--docroot', root], { env: { ...CLI_ENV, SLOWLOG_TIMEOUT: 'soon' }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'tokio-php: SLOWLOG_TIMEOUT="soon" is not valid: expected a duration like 5s, 1m, 500ms, or off\n');
});
