// Worker mode (WORKER_SCRIPT): a script booted once per thread serves request after request on
// tokio_handle_request(). Over real sockets against the real command: every request sees only
// its own state, failures end the script (not the server), restarts of every kind, routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { Agent } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, multipart } from './helpers/php.js';
import { CLI, CLI_ENV, startCli, type RunningCli } from './helpers/cli.js';
import { get, type Reply } from './helpers/server.js';

const root = path.join(FIXTURES, 'worker');

interface State {
  boot: string; served: number; worker: number;
  server: Record<string, string>; request_time: number; request_id: string;
  get: Record<string, unknown>; post: Record<string, unknown>; cookie: Record<string, string>; request: Record<string, unknown>;
  files: Record<string, { name: string; size: number; error: number; tmp: boolean }>; input: string;
  headers_list: string[]; headers_sent: boolean; status: number; ob_level: number; max_execution_time: string;
  precision: string; ignore_user_abort: string; session_status: number; session: unknown; dirty: string | null;
  connection_status: number; peak_mb: number;
}

function tmpdir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'tokio-worker-'));
}

async function state(base: string, pathname = '/state', options: Parameters<typeof get>[1] = {}): Promise<State> {
  const r = await get(`${base}${pathname}`, options);
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString());
}

function bootsIn(log: string): string[] {
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

async function withWorker(args: string[], env: Record<string, string>, fn: (cli: RunningCli, base: string) => Promise<void>): Promise<void> {
  const cli = await startCli(['--docroot', root, '--processes', '1', ...args], env);
  try {
    await fn(cli, `http://127.0.0.1:${cli.port}`);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
}

test('one booted app serves many requests, each seeing only its own superglobals, body, headers and status', async () => {
  const dir = tmpdir();
  const log = path.join(dir, 'boots');
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], { BOOT_LOG: log }, async (_cli, base) => {
    const first = await state(base);
    assert.equal(first.served, 1);
    for (let i = 0; i < 30; i++) {
      const kind = i % 3;
      const s = kind === 0
        ? await state(base, `/state?i=${i}&same=${i}`, { headers: { 'X-Test': `get ${i}`, Cookie: `c=${i}; d=x${i}` } })
        : kind === 1
          ? await state(base, `/state?i=${i}`, {
            method: 'POST', body: `p=${i}&i=post${i}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          })
          : await state(base, '/state', { method: 'PUT', body: `raw body ${i}`, headers: { 'Content-Type': 'text/plain' } });
      assert.equal(s.boot, first.boot, 'the app did not boot again');
      assert.equal(s.served, i + 2);
      assert.equal(s.server.TOKIO_WORKER, '1');
      assert.equal(s.server.FRANKENPHP_WORKER, '1');
      assert.equal(s.server.SCRIPT_NAME, '/index.php');
      assert.equal(s.server.SCRIPT_FILENAME, path.join(root, 'index.php'));
      assert.equal(s.server.REQUEST_ID, s.request_id);
      assert.notEqual(s.request_id, first.request_id);
      assert.ok(Math.abs(s.request_time - Date.now() / 1000) < 5, 'REQUEST_TIME_FLOAT is this request\'s');
      assert.deepEqual(s.headers_list.filter((h) => !h.startsWith('X-Powered-By')), ['Content-Type: application/json']);
      assert.equal(s.headers_sent, false);
      assert.equal(s.status, 200);
      if (kind === 0) {
        assert.equal(s.server.REQUEST_METHOD, 'GET');
        assert.equal(s.server.QUERY_STRING, `i=${i}&same=${i}`);
        assert.equal(s.server.HTTP_X_TEST, `get ${i}`);
        assert.deepEqual(s.get, { i: String(i), same: String(i) });
        assert.deepEqual(s.post, []);
        assert.deepEqual(s.cookie, { c: String(i), d: `x${i}` });
        assert.equal(s.input, '');
      } else if (kind === 1) {
        assert.equal(s.server.REQUEST_METHOD, 'POST');
        assert.equal(s.server.HTTP_X_TEST, undefined);
        assert.deepEqual(s.get, { i: String(i) });
        assert.deepEqual(s.post, { p: String(i), i: `post${i}` });
        assert.deepEqual(s.cookie, []);
        assert.equal(s.input, `p=${i}&i=post${i}`);
        assert.equal(s.server.HTTP_COOKIE, undefined);
      } else {
        assert.equal(s.server.REQUEST_METHOD, 'PUT');
        assert.deepEqual(s.get, []);
        assert.deepEqual(s.post, []);
        assert.equal(s.input, `raw body ${i}`);
        assert.equal(s.server.CONTENT_TYPE, 'text/plain');
      }
    }
    assert.deepEqual(bootsIn(log), [first.boot]);
  });
  rmSync(dir, { recursive: true, force: true });
});

test('what a request changes ends with it: headers, status, output buffers, ini_set()/set_time_limit(), memory peak; userland globals persist', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    const before = await state(base);
    const dirty = await get(`${base}/dirty?x=1`);
    assert.equal(dirty.status, 201);
    assert.equal(dirty.headers['x-once'], '1');
    assert.equal(dirty.body.toString(), 'left in a buffer');
    const after = await state(base);
    assert.equal(after.boot, before.boot);
    assert.equal(after.status, 200);
    assert.equal(after.headers_sent, false);
    assert.ok(!after.headers_list.some((h) => h.startsWith('X-Once')), after.headers_list.join());
    assert.equal(after.ob_level, before.ob_level);
    assert.equal(after.max_execution_time, before.max_execution_time);
    assert.equal(after.precision, '15', 'the boot\'s ini_set() stays, the request\'s goes');
    assert.equal(after.ignore_user_abort, before.ignore_user_abort);
    assert.deepEqual(after.get, []);
    assert.equal(after.dirty, 'userland globals persist');
    assert.ok(after.peak_mb < 8, `memory_get_peak_usage() starts again per request: ${after.peak_mb} MiB`);
    assert.equal((await get(`${base}/state`)).headers['x-once'], undefined);
  });
});

test('by default two requests held at once run on two booted workers of one pool, and their ids differ', async () => {
  const dir = tmpdir();
  // no --processes: the default
  const cli = await startCli(['--docroot', root, '--worker', 'index.php', '--workers', '2', '--worker-threads', '2']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    for (let i = 0; i < 3; i++) {
      const pair = await Promise.all([`a${i}&other=b${i}`, `b${i}&other=a${i}`].map(async (q) => {
        const r = await get(`${base}/meet?dir=${dir}&me=${q}`);
        assert.equal(r.status, 200, r.body.toString());
        return JSON.parse(r.body.toString()) as { boot: string; worker: number };
      }));
      assert.notEqual(pair[0].boot, pair[1].boot, `round ${i}: two booted workers`);
      assert.notEqual(pair[0].worker, pair[1].worker);
    }
  } finally {
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('uploads: $_FILES per request, move_uploaded_file() works, temporary files are gone after the request', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    const form = multipart([{ name: 'file', filename: 'a.txt', data: Buffer.from('upload one') }]);
    const up = JSON.parse((await get(`${base}/upload`, { method: 'POST', body: form.body, headers: { 'Content-Type': form.type } })).body.toString());
    assert.equal(up.moved, true);
    assert.equal(up.content, 'upload one');
    const files = (await state(base)).files;
    assert.deepEqual(files, []);
    const form2 = multipart([{ name: 'doc', filename: 'b.bin', data: Buffer.alloc(3000, 7) }]);
    const s = await state(base, '/state', { method: 'POST', body: form2.body, headers: { 'Content-Type': form2.type } });
    assert.deepEqual(s.files, { doc: { name: 'b.bin', size: 3000, error: 0, tmp: true } });
    const leftover = JSON.parse((await get(`${base}/exists?file=${encodeURIComponent(up.tmp)}`)).body.toString());
    assert.equal(leftover, false, 'the first upload\'s temporary file was removed');
  });
});

test('sessions: each request reads its own cookie, and the session is written and closed at its end', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    const start = async (cookie?: string, user?: string) => {
      const r = await get(`${base}/session${user ? `?user=${user}` : ''}`, { headers: cookie ? { Cookie: cookie } : {} });
      const setCookie = (r.headers['set-cookie'] ?? [])[0]?.split(';')[0];
      return { ...JSON.parse(r.body.toString()) as { id: string; n: number; user: string }, setCookie };
    };
    const alice = await start(undefined, 'alice');
    assert.equal(alice.n, 1);
    assert.ok(alice.setCookie?.startsWith('PHPSESSID='));
    const bob = await start(undefined, 'bob');
    assert.notEqual(bob.id, alice.id);
    assert.equal(bob.n, 1);
    assert.equal(bob.user, 'bob');
    const alice2 = await start(alice.setCookie, 'mallory');
    assert.deepEqual([alice2.id, alice2.n, alice2.user, alice2.setCookie], [alice.id, 2, 'alice', undefined]);
    const bob2 = await start(bob.setCookie);
    assert.deepEqual([bob2.id, bob2.n, bob2.user], [bob.id, 2, 'bob']);
    const none = await state(base);
    assert.equal(none.session_status, 1, 'PHP_SESSION_NONE: nothing carried over');
    assert.equal(none.session, null);
  });
});

test('an exception in the handler answers 500 and the same booted app serves the next request; a fatal error, max_execution_time, exit() and REQUEST_TIMEOUT restart the script', async () => {
  const dir = tmpdir();
  const log = path.join(dir, 'boots');
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1', '--timeout', '3s'], { BOOT_LOG: log }, async (cli, base) => {
    const boot = (await state(base)).boot;
    const thrown = await get(`${base}/throw`);
    assert.equal(thrown.status, 500);
    assert.equal(thrown.body.toString(), 'partial ');
    await cli.waitFor(/PHP Fatal error:  Uncaught RuntimeException: thrown by the handler/);
    const error = await get(`${base}/error`);
    assert.equal(error.status, 500);
    await cli.waitFor(/PHP Fatal error:  Uncaught Error: Call to undefined function undefined_function_in_a_worker\(\)/);
    assert.equal((await state(base)).boot, boot, 'no reboot after an exception');

    const fatal = await get(`${base}/fatal`);
    assert.equal(fatal.status, 500);
    await cli.waitFor(/PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted/);
    const afterFatal = (await state(base)).boot;
    assert.notEqual(afterFatal, boot);
    await cli.waitFor(/"reason":"fatal_error"[^\n]*"msg":"worker script ended inside a request: starting it again"/);

    const busy = await get(`${base}/busy`);
    assert.equal(busy.status, 500);
    await cli.waitFor(/PHP Fatal error:  Maximum execution time of 1 second exceeded/);
    const afterBusy = (await state(base)).boot;
    assert.notEqual(afterBusy, afterFatal);

    const exited = await get(`${base}/exit`);
    assert.equal(exited.status, 200);
    assert.equal(exited.body.toString(), 'bye');
    assert.equal(exited.headers['x-before-exit'], '1');
    const afterExit = (await state(base)).boot;
    assert.notEqual(afterExit, afterBusy);

    const slow = await get(`${base}/sleep?ms=6000`);
    assert.equal(slow.status, 504);
    const afterTimeout = await state(base);
    assert.notEqual(afterTimeout.boot, afterExit);
    assert.equal(afterTimeout.served, 1);
    assert.deepEqual(bootsIn(log), [boot, afterFatal, afterBusy, afterExit, afterTimeout.boot]);
  });
  rmSync(dir, { recursive: true, force: true });
});

test('WORKER_MAX_REQUESTS and WORKER_MAX_MEMORY restart the script; the logs and /metrics say why', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1', '--worker-max-requests', '5',
    '--worker-max-memory', '24m'], {}, async (cli, base) => {
    const served: [string, number][] = [];
    for (let i = 0; i < 11; i++) {
      const s = await state(base);
      served.push([s.boot, s.served]);
    }
    assert.deepEqual(served.map(([, n]) => n), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1]);
    assert.equal(new Set(served.map(([b]) => b)).size, 3);
    await cli.waitFor(/"reason":"max_requests"[^\n]*"requests":5[^\n]*"msg":"worker script restarting"/, 2);

    const boot = (await state(base)).boot;
    assert.equal((await get(`${base}/leak?mb=10`)).body.toString(), '1');
    assert.equal((await get(`${base}/leak?mb=20`)).body.toString(), '2'); // now above 24m: restarted after it
    assert.notEqual((await state(base)).boot, boot);
    await cli.waitFor(/"reason":"max_memory"/);

    const metrics = (await get(`http://127.0.0.1:${cli.internalPort}/metrics`)).body.toString();
    assert.match(metrics, /^tokio_php_worker_script_restarts_total\{script="\/index.php",reason="max_requests"\} 2$/m);
    assert.match(metrics, /^tokio_php_worker_script_restarts_total\{script="\/index.php",reason="max_memory"\} 1$/m);
    assert.match(metrics, /^tokio_php_worker_script_threads\{process="0",script="\/index.php",state="idle"\} 1$/m);
  });
});

test('a worker script that never boots stops startup with a message naming it, after FrankenPHP\'s backoff', () => {
  const run = spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--internal', 'off', '--docroot', root, '--processes', '1',
    '--worker', 'failing.php', '--workers', '1', '--worker-threads', '1', '--worker-max-failures', '3'], { env: CLI_ENV, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 1);
  const out = run.stdout + run.stderr;
  assert.match(out, /PHP Fatal error:  Uncaught LogicException: this worker script cannot boot/);
  assert.equal(out.match(/"msg":"worker script failed before tokio_handle_request\(\): starting it again"/g)?.length, 2);
  assert.match(out, new RegExp(`WORKER_SCRIPT ${path.join(root, 'failing.php').replace(/[.]/g, '\\.')} did not reach tokio_handle_request\\(\\) in 3 attempts \\(exit status 255`));
  // one story: startup stops; nothing says it serves 503 meanwhile, nor that a process is replaced
  assert.doesNotMatch(out, /503 while it retries|replacing it|EPIPE|\n\s+at /);
});

test('a worker script that fails its first boots is started again until it serves', async () => {
  const dir = tmpdir();
  const log = path.join(dir, 'boots');
  await withWorker(['--worker', 'flaky.php', '--workers', '1', '--worker-threads', '1'], { BOOT_LOG: log, FAIL_BOOTS: '2' }, async (cli, base) => {
    const r = await get(`${base}/flaky.php`);
    assert.equal(r.body.toString(), 'up after 3 boots');
    assert.equal(cli.output().match(/"failures":\d[^\n]*worker script failed before tokio_handle_request/g)?.length, 2);
    assert.equal((await get(`http://127.0.0.1:${cli.internalPort}/ready`)).status, 200);
  });
  rmSync(dir, { recursive: true, force: true });
});

test('routing: static files directly, other .php files classic, everything else through the worker script\'s loop', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    assert.equal((await get(`${base}/hello.txt`)).body.toString(), 'a static file\n');
    assert.deepEqual(JSON.parse((await get(`${base}/classic.php`)).body.toString()), { classic: true, script: '/classic.php' });
    assert.equal((await get(`${base}/classic-loop.php?x`)).body.toString(), 'handled /classic-loop.php?x [1,false]');
    assert.equal((await get(`${base}/some/route`)).body.toString(), 'front controller: /some/route');
    assert.equal((await get(`${base}/`)).body.toString(), 'front controller: /');
    assert.equal((await get(`${base}/index.php`)).body.toString(), 'front controller: /index.php');
  });
  await withWorker(['--worker', 'index.php=/api/*', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    assert.equal((await get(`${base}/api/users`)).body.toString(), 'front controller: /api/users');
    assert.equal((await get(`${base}/hello.txt`)).status, 200);
    assert.equal((await get(`${base}/elsewhere`)).status, 404);
  });
});

test('streaming, SSE and tokio_finish_request() inside the handler', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    assert.equal((await get(`${base}/stream`)).body.toString(), 'one\ntwo\nthree\n');
    const events = await get(`${base}/events`, { headers: { Accept: 'text/event-stream' } });
    assert.equal(events.headers['content-type'], 'text/event-stream;charset=UTF-8');
    assert.equal(events.body.toString(), 'data: 1\n\ndata: 2\n\ndata: 3\n\n');
    assert.equal((await get(`${base}/finish`)).body.toString(), 'answered early');
    const s = await state(base);
    assert.equal(s.served, 4, 'the same booted app served them all');
  });
});

test('FrankenPHP\'s documented worker script runs unchanged: frankenphp_handle_request(), $_SERVER[\'FRANKENPHP_WORKER\'], its own exception handler', async () => {
  await withWorker(['--worker', 'frankenphp.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    const replies: Reply[] = [];
    for (const q of ['name=a', 'name=b', 'fail=1', 'name=c']) replies.push(await get(`${base}/anything?${q}`));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 500, 200]);
    assert.equal(replies[2].body.toString(), 'handled: kernel failure');
    assert.deepEqual(JSON.parse(replies[3].body.toString()), { boots: 1, handled: 4, terminated: 3, worker: '1', name: 'c' });
  });
});

test('SIGUSR2 and POST /workers/restart restart every worker script a thread at a time while a steady client sees no failure', async () => {
  await withWorker(['--worker', 'index.php', '--workers', '2', '--worker-threads', '2'], {}, async (cli, base) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const boots = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add((await state(base, '/state', { agent })).boot);
      return seen;
    };
    const before = await boots();
    let running = true;
    let sent = 0;
    const failures: string[] = [];
    const load = Promise.all([0, 1].map(async () => {
      while (running) {
        sent++;
        try {
          const r = await get(`${base}/sleep?ms=5`, { agent });
          if (r.status !== 200 || r.body.toString() !== 'slept') failures.push(`${r.status} ${r.body.toString()}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }));
    cli.child.kill('SIGUSR2');
    await cli.waitFor(/"reason":"reload"[^\n]*"msg":"worker script restarting"/, 2);
    const restarted = (await post(`http://127.0.0.1:${cli.internalPort}/workers/restart`));
    assert.equal(restarted, 202);
    await cli.waitFor(/"reason":"reload"[^\n]*"msg":"worker script restarting"/, 4);
    await sleep(300);
    running = false;
    await load;
    agent.destroy();
    assert.deepEqual(failures, []);
    assert.ok(sent > 50, `${sent} requests during the restarts`);
    const after = await boots();
    for (const b of after) assert.ok(!before.has(b), 'every thread booted again');
  });
});

function post(url: string): Promise<number> {
  return get(url, { method: 'POST' }).then((r) => r.status);
}

test('WORKER_WATCH: changing a watched PHP file restarts the worker scripts', async () => {
  const dir = tmpdir();
  const watched = path.join(dir, 'watched.php');
  writeFileSync(watched, '<?php // v1\n');
  await withWorker(['--worker', 'index.php', '--workers', '1', '--worker-threads', '1', '--worker-watch', `${dir}/**/*.php`], {}, async (cli, base) => {
    const boot = (await state(base)).boot;
    writeFileSync(path.join(dir, 'notes.txt'), 'not a match');
    writeFileSync(watched, '<?php // v2\n');
    utimesSync(watched, new Date(), new Date());
    await cli.waitFor(/"msg":"a watched file changed: restarting the worker scripts"/);
    await cli.waitFor(/"reason":"watch"/);
    assert.notEqual((await state(base)).boot, boot);
    assert.doesNotMatch(cli.output(), /notes\.txt/);
  });
  rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM lets the worker script finish its request, ends the loop cleanly and exits 0', async () => {
  const cli = await startCli(['--docroot', root, '--processes', '1', '--worker', 'index.php', '--workers', '1', '--worker-threads', '1']);
  const slow = get(`http://127.0.0.1:${cli.port}/sleep?ms=700`, { agent: false });
  await sleep(200);
  cli.child.kill('SIGTERM');
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'slept');
  assert.equal(await cli.exited, 0);
  assert.doesNotMatch(cli.output(), /"level":(50|60)/);
});

test('a real framework from Debian\'s packages (Symfony\'s HttpKernel and Routing) boots once and serves its routes', async () => {
  await withWorker(['--worker', 'symfony.php', '--workers', '1', '--worker-threads', '1'], {}, async (_cli, base) => {
    const hello = await get(`${base}/hello/world`);
    assert.equal(hello.status, 200);
    assert.equal(hello.body.toString(), 'Hello world');
    assert.equal((await get(`${base}/hello/tokio`)).body.toString(), 'Hello tokio');
    const missing = await get(`${base}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), 'Not Found');
    assert.equal((await get(`${base}/form`)).status, 405);
    const form = await get(`${base}/form?q=1`, {
      method: 'POST', body: 'a=1&b[]=x&b[]=y', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'k=v' },
    });
    assert.deepEqual(JSON.parse(form.body.toString()), { post: { a: '1', b: ['x', 'y'] }, query: { q: '1' }, cookies: { k: 'v' }, path: '/form', method: 'POST' });
    assert.deepEqual(JSON.parse((await get(`${base}/stats`)).body.toString()), { boots: 1, handled: 6 });
  });
});

test('a worker script that ends by itself between requests is started again, and the log says so', async () => {
  await withWorker(['--worker', 'once.php', '--workers', '1', '--worker-threads', '1'], {}, async (cli, base) => {
    const first = (await get(`${base}/once.php`)).body.toString();
    const second = (await get(`${base}/once.php`)).body.toString();
    assert.match(first, /^[0-9a-f]{12}$/);
    assert.notEqual(second, first);
    await cli.waitFor(/"reason":"ended"[^\n]*"msg":"worker script ended by itself between requests: starting it again"/);
    assert.doesNotMatch(cli.output(), /ended inside a request/);
  });
});

test('/health and /status count every PHP thread: the worker scripts\' and the classic ones beside them', async () => {
  // PHP_WORKERS=4, all of them worker-script threads, over 2 processes: each process keeps one
  // classic thread beside its 2 worker-script threads, so 6 threads run
  const cli = await startCli(['--docroot', root, '--worker', 'index.php', '--workers', '4', '--worker-threads', '4', '--processes', '2']);
  try {
    const internal = `http://127.0.0.1:${cli.internalPort}`;
    assert.equal(JSON.parse((await get(`${internal}/health`)).body.toString()).workers, 6);
    assert.equal(JSON.parse((await get(`${internal}/status?json`)).body.toString())['total processes'], 6);
    assert.match(cli.output(), /"msg":"tokio-php is serving"/);
    assert.match(cli.output(), /"workers":6,/);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});
