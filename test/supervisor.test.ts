// The supervisor and its server processes: crashes, stuck scripts, reloads, signals, over real
// sockets against the real command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES } from './helpers/php.js';
import { startCli, type RunningCli } from './helpers/cli.js';
import { serverExecArgv } from '../src/supervisor/supervisor.js';

const root = path.join(FIXTURES, 'site');

function fetchText(port: number, pathname: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: pathname, agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

/** Requests one after another until stopped: how many were sent, and the failures. */
function steadyLoad(port: number, agent: Agent | false) {
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const done = (async () => {
    while (running) {
      sent++;
      try {
        const r = await fetchText(port, '/info.php', agent);
        if (r.status !== 200) failures.push(`status ${r.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  return { stop: async () => { running = false; await done; return { sent, failures }; } };
}

async function stopCli(cli: RunningCli): Promise<number | null> {
  cli.child.kill('SIGTERM');
  return cli.exited;
}

test('a segfault in PHP costs one process: with PROCESSES=2 the other serves every request meanwhile; the crash is logged and repaired', async (t) => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2']);
  try {
    const load = steadyLoad(cli.port, false);
    await sleep(200);
    await assert.rejects(fetchText(cli.port, '/crash.php'), /socket hang up|ECONNRESET/);
    await cli.waitFor(/"signal":"SIGSEGV"[^\n]*"msg":"server process killed by SIGSEGV: replacing it"/);
    await cli.waitFor(/"msg":"server process ready"/, 3);
    await sleep(200);
    const { sent, failures } = await load.stop();
    assert.ok(sent > 20, `${sent} requests`);
    t.diagnostic(`${sent} requests during the crash and the replacement`);
    assert.deepEqual(failures, []);
  } finally {
    assert.equal(await stopCli(cli), 0);
  }
});

test('with PROCESSES=1 the replacement serves after a segfault', async (t) => {
  const cli = await startCli(['--docroot', root, '--workers', '1']);
  try {
    await assert.rejects(fetchText(cli.port, '/crash.php'));
    const crashed = Date.now();
    let answered: { status: number } | undefined;
    while (!answered && Date.now() - crashed < 20_000) {
      answered = await fetchText(cli.port, '/info.php').catch(() => undefined);
      if (!answered) await sleep(50);
    }
    assert.equal(answered?.status, 200, cli.output());
    t.diagnostic(`first answer ${Date.now() - crashed} ms after the crash`);
    assert.match(cli.output(), /server process killed by SIGSEGV: replacing it/);
  } finally {
    assert.equal(await stopCli(cli), 0);
  }
});

test('two requests at once on 2 processes of 1 thread run in different processes: tokio_server_info() says which', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-procs-'));
  try {
    const meet = (me: string, other: string) => fetchText(cli.port, `/whoami.php?dir=${dir}&me=${me}&other=${other}`).then((r) => JSON.parse(r.body));
    const both = await Promise.all([meet('a', 'b'), meet('b', 'a')]);
    assert.deepEqual(both.map((o) => o.process).sort(), [0, 1]);
    assert.deepEqual(both.map((o) => [o.worker, o.workers]), [[0, 1], [0, 1]]);
    assert.notEqual(both[0].pid, both[1].pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    assert.equal(await stopCli(cli), 0);
  }
});

test('a script stuck in C past REQUEST_TIMEOUT: 504, then its process is replaced, every thread serves again, SIGTERM still exits 0', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '1', '--timeout', '1s', '--drain-timeout', '1s']);
  let stopped = false;
  try {
    const t0 = Date.now();
    const stuck = await fetchText(cli.port, '/stuck.php');
    assert.equal(stuck.status, 504);
    assert.ok(Date.now() - t0 < 5000);
    await cli.waitFor(/a script is stuck past its timeout[^\n]*replacing this process/, 1, 30_000);
    // the stuck process stops accepting at once: what arrives meanwhile waits for the replacement
    const meanwhile = fetchText(cli.port, '/info.php');
    await cli.waitFor(/"msg":"server process ready"/, 2, 30_000);
    assert.equal((await meanwhile).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await fetchText(cli.port, '/info.php')).status, 200);
    const t1 = Date.now();
    stopped = true;
    assert.equal(await stopCli(cli), 0);
    assert.ok(Date.now() - t1 < 30_000);
  } finally {
    if (!stopped) await stopCli(cli);
  }
});

test('SIGHUP replaces every process under steady load with no failed request; the old ones drain', async (t) => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2']);
  try {
    const pids = async () => new Set(await Promise.all(Array.from({ length: 8 }, () =>
      fetchText(cli.port, '/whoami.php').then((r) => JSON.parse(r.body).pid as number))));
    const before = await pids();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    const loads = [steadyLoad(cli.port, false), steadyLoad(cli.port, keepAlive), steadyLoad(cli.port, false)];
    await sleep(300);
    cli.child.kill('SIGHUP');
    await cli.waitFor(/"msg":"reloaded"/);
    await cli.waitFor(/"process":\d,"msg":"stopped"/, 2);
    await sleep(300);
    const results = await Promise.all(loads.map((l) => l.stop()));
    keepAlive.destroy();
    const sent = results.reduce((n, r) => n + r.sent, 0);
    t.diagnostic(`${sent} requests during the reload`);
    assert.deepEqual(results.flatMap((r) => r.failures), []);
    const after = await pids();
    for (const pid of after) assert.ok(!before.has(pid), 'served by new processes');
  } finally {
    assert.equal(await stopCli(cli), 0);
  }
});

test('LOG_FILE: logs go to the file; after a logrotate-style rename, SIGUSR1 opens a new one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-logs-'));
  const file = path.join(dir, 'tokio.log');
  const cli = await startCli(['--docroot', root, '--workers', '2', '--log-file', file], {}, file);
  try {
    assert.match(readFileSync(file, 'utf8'), /"msg":"tokio-php is serving"/);
    assert.equal(cli.output().split('\n').filter((l) => l && !l.startsWith('{')).length, 0);
    renameSync(file, `${file}.1`);
    cli.child.kill('SIGUSR1');
    await sleep(300);
    for (let i = 0; i < 4; i++) assert.equal((await fetchText(cli.port, '/warn.php')).body, 'warned');
    for (let i = 0; i < 50 && !(existsSync(file) && readFileSync(file, 'utf8').includes('a line for the log')); i++) await sleep(50);
    assert.match(readFileSync(file, 'utf8'), /PHP Warning: {2}a line for the log/);
    assert.doesNotMatch(readFileSync(`${file}.1`, 'utf8'), /a line for the log/);
  } finally {
    assert.equal(await stopCli(cli), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("server processes get small V8 semi-spaces and a slow-growing old generation, unless node's options or NODE_OPTIONS say otherwise", () => {
  const both = ['--max-semi-space-size=2', '--heap-growing-percent=20'];
  assert.deepEqual(serverExecArgv([], ''), both);
  assert.deepEqual(serverExecArgv(['--enable-source-maps'], '--no-warnings'), ['--enable-source-maps', ...both]);
  assert.deepEqual(serverExecArgv(['--max-semi-space-size=16'], ''), ['--max-semi-space-size=16', '--heap-growing-percent=20']);
  assert.deepEqual(serverExecArgv([], '--max_semi_space_size=8'), ['--heap-growing-percent=20']);
  assert.deepEqual(serverExecArgv(['--heap_growing_percent=50'], ''), ['--heap_growing_percent=50', '--max-semi-space-size=2']);
});
