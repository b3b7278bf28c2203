// Errors, limits and aborts: each stays inside its request, and the worker keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type PhpLogEntry } from '../src/index.js';
import { FIXTURES, phpRequest } from './helpers/php.js';
import { runningOn } from './helpers/wait.js';

const root = path.join(FIXTURES, 'engine');
const logs: PhpLogEntry[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-err-'));
let engine: Engine;

before(async () => {
  // one worker: every request below runs on the thread the previous one broke
  engine = await Engine.start({ workers: 1, env: {}, logger: (e) => logs.push(e) });
});
after(async () => {
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (uri: string, requestId: string) => engine.execute(phpRequest(root, uri, { requestId }));
const logged = (requestId: string) => logs.filter((l) => l.requestId === requestId).map((l) => l.message).join('\n');

async function assertHealthy() {
  const res = await run('/worker.php', 'healthy');
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { global_seen: false, ini: '14', cwd: root, tz: 'UTC' });
}

for (const [name, uri, message, body] of [
  ['fatal error', '/errors.php?case=fatal', /PHP Fatal error:  Uncaught Error: Call to undefined function undefined_function_tokio\(\)/, 'before '],
  ['uncaught exception', '/errors.php?case=exception', /PHP Fatal error:  Uncaught RuntimeException: boom from tokio test/, 'before '],
  ['parse error', '/parse_error.php', /PHP Parse error:  syntax error, unexpected end of file/, ''],
  // PHP drops the buffered output when the memory limit killed the script, php-fpm too
  ['memory_limit', '/errors.php?case=memory', /PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted/, ''],
  ['max_execution_time', '/errors.php?case=timeout', /PHP Fatal error:  Maximum execution time of 1 second exceeded/, 'before '],
] as const) {
  test(`${name} → 500, logged with the request id, not shown; the worker serves on`, async () => {
    const id = `err-${name}`;
    const res = await run(uri, id);
    assert.equal(res.status, 500);
    assert.equal(res.exitStatus, 255);
    assert.equal(res.body.toString(), body);
    assert.match(logged(id), message);
    await assertHealthy();
  });
}

test('a warning is logged and the script goes on', async () => {
  const res = await run('/errors.php?case=warning', 'warn');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'before after');
  assert.match(logged('warn'), /PHP Warning:  a warning for the log in .*errors\.php on line 8/);
});

for (const how of ['loop', 'sleep']) {
  test(`abort() stops a running script (${how}) promptly and frees the worker`, async (t) => {
    const req = phpRequest(root, `/busy.php?how=${how}`);
    const done = engine.execute(req);
    await runningOn(engine, req.id!);
    const t0 = performance.now();
    assert.equal(engine.abort(req.id!), true);
    const res = await done;
    const ms = performance.now() - t0;
    assert.equal(res.aborted, 'kill');
    // the script would run for a minute; it must stop at once (measured: see the closing note)
    assert.ok(ms < 1000, `stopped after ${ms.toFixed(1)} ms`);
    t.diagnostic(`abort of a ${how} took ${ms.toFixed(2)} ms`);
    assert.equal(engine.abort(req.id!), false, 'nothing left to abort');
    await assertHealthy();
  });
}

test('abort() of a queued request answers it without running it', async () => {
  const busy = phpRequest(root, '/busy.php');
  const first = engine.execute(busy);
  await runningOn(engine, busy.id!);
  const mark = path.join(tmp, 'never');
  const queued = phpRequest(root, `/disconnect.php?mark=${mark}`);
  const second = engine.execute(queued);
  assert.equal(engine.abort(queued.id!), true);
  assert.equal((await second).aborted, 'kill');
  engine.abort(busy.id!);
  await first;
  assert.equal(existsSync(mark), false);
});

test('an AbortSignal stops the script like abort()', async () => {
  const ctl = new AbortController();
  const req = phpRequest(root, '/busy.php');
  const done = engine.execute(req, { signal: ctl.signal });
  await runningOn(engine, req.id!);
  ctl.abort();
  assert.equal((await done).aborted, 'kill');
});

test('a disconnect stops the script, whose shutdown functions still run, as in php-fpm', async () => {
  const mark = path.join(tmp, 'stopped');
  const req = phpRequest(root, `/disconnect.php?mark=${mark}`);
  const done = engine.execute(req);
  while (!existsSync(`${mark}.ready`)) await new Promise((r) => setTimeout(r, 5));
  engine.abort(req.id!, 'disconnect');
  const res = await done;
  assert.equal(res.aborted, 'disconnect');
  assert.equal(readFileSync(mark, 'utf8'), 'status=1'); // CONNECTION_ABORTED
  assert.equal(existsSync(mark + '.seen'), false);
});

test('with ignore_user_abort(true) a disconnect is only seen by connection_aborted()', async () => {
  const mark = path.join(tmp, 'ignored');
  const req = phpRequest(root, `/disconnect.php?ignore=1&mark=${mark}`);
  const done = engine.execute(req);
  while (!existsSync(`${mark}.ready`)) await new Promise((r) => setTimeout(r, 5));
  engine.abort(req.id!, 'disconnect');
  const res = await done;
  assert.equal(res.aborted, null);
  assert.equal(readFileSync(mark + '.seen', 'utf8'), 'yes');
  assert.equal(readFileSync(mark, 'utf8'), 'status=1');
  await assertHealthy();
});
