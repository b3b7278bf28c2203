// PM, php-fpm's process managers for the classic PHP threads, against the real command over real
// sockets: threads that start and retire as load comes and goes, watched on /status, and never at
// the cost of a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { FIXTURES } from './helpers/php.js';
import { CLI, CLI_ENV, startCli, type RunningCli } from './helpers/cli.js';
import { get } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');

type Status = Record<string, string | number>;

async function status(cli: RunningCli): Promise<Status> {
  return JSON.parse((await get(`http://127.0.0.1:${cli.internalPort}/status?json`)).body.toString());
}

/** Polls /status until `done` holds (at most 20 s); returns every total processes seen, the last one's included. */
async function until(cli: RunningCli, done: (s: Status) => boolean, what: string): Promise<number[]> {
  const totals: number[] = [];
  for (let i = 0; i < 400; i++) {
    const s = await status(cli);
    totals.push(Number(s['total processes']));
    if (done(s)) return totals;
    await sleep(50);
  }
  throw new Error(`${what}: not reached; total processes went ${totals.join(' ')}`);
}

/** thread.php: the answering PHP thread's id, checked to be one. */
async function thread(cli: RunningCli, ms: number): Promise<string> {
  const r = await get(`http://127.0.0.1:${cli.port}/thread.php?ms=${ms}`, { agent: false });
  const body = r.body.toString();
  assert.equal(r.status, 200, body);
  assert.match(body, /^\d+$/);
  return body;
}

/** `clients` loops of requests one after another, until `stop` says so; resolves with every thread id answered. */
async function load(cli: RunningCli, clients: number, ms: number, stop: () => boolean): Promise<string[]> {
  const ids: string[] = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < 2000 && !stop(); i++) ids.push(await thread(cli, ms));
  }));
  return ids;
}

async function stopCli(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
}

test('PM=ondemand: no thread at start, one per request up to PHP_WORKERS, every one retired after PM_IDLE_TIMEOUT; max children reached counts the request that found all four busy', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4'], { PM: 'ondemand', PM_IDLE_TIMEOUT: '1s' });
  try {
    let s = await status(cli);
    assert.equal(s['process manager'], 'ondemand');
    assert.deepEqual([s['total processes'], s['idle processes'], s['active processes']], [0, 0, 0]);

    const four = Promise.all([0, 1, 2, 3].map(() => thread(cli, 1500)));
    const totals = await until(cli, (x) => x['active processes'] === 4, 'four threads running the four requests');
    assert.ok(totals.every((n) => n <= 4), `never past PHP_WORKERS: ${totals.join(' ')}`);
    assert.equal(new Set(await four).size, 4, 'four threads answered');
    s = await status(cli);
    assert.equal(s['max children reached'], 0);

    // a fifth at once: it waits for one of the four, as the pool is at its maximum
    const five = await Promise.all([0, 1, 2, 3, 4].map(() => thread(cli, 1000)));
    assert.equal(five.length, 5);
    s = await status(cli);
    assert.equal(s['max children reached'], 1);
    assert.ok(Number(s['total processes']) <= 4);
    const metrics = (await get(`http://127.0.0.1:${cli.internalPort}/metrics`)).body.toString();
    assert.match(metrics, /^tokio_php_max_children_reached_total\{process="0"\} 1$/m);

    await until(cli, (x) => x['total processes'] === 0, 'every thread retired');
    s = await status(cli);
    assert.deepEqual([s['idle processes'], s['active processes']], [0, 0]);
  } finally {
    await stopCli(cli);
  }
});

test('PM=dynamic: PM_START_WORKERS at start, grows to PHP_WORKERS under load, shrinks back to PM_MAX_SPARE idle and no further', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4'], { PM: 'dynamic', PM_START_WORKERS: '1', PM_MIN_SPARE: '1', PM_MAX_SPARE: '2' });
  try {
    let s = await status(cli);
    assert.equal(s['process manager'], 'dynamic');
    assert.deepEqual([s['total processes'], s['idle processes']], [1, 1]);

    // four clients keep every thread busy: each maintenance round short of a spare starts one
    let grown = false;
    const served = load(cli, 4, 200, () => grown);
    const growing = await until(cli, (x) => x['total processes'] === 4, 'grown to PHP_WORKERS');
    grown = true;
    assert.ok((await served).length > 0);
    assert.ok(growing.every((n) => n >= 1 && n <= 4), `within PM_MIN_SPARE and PHP_WORKERS: ${growing.join(' ')}`);

    // idle: one retires a round while more than PM_MAX_SPARE are idle, never below PM_MIN_SPARE
    const shrinking = await until(cli, (x) => x['total processes'] === 2, 'shrunk to PM_MAX_SPARE');
    assert.ok(shrinking.every((n) => n >= 2 && n <= 4), `shrinking: ${shrinking.join(' ')}`);
    for (let i = 0; i < 10; i++) {
      await sleep(250);
      s = await status(cli);
      assert.deepEqual([s['total processes'], s['idle processes']], [2, 2], 'two idle threads are within the spares: they stay');
    }
  } finally {
    await stopCli(cli);
  }
});

test('PM=ondemand with a short PM_IDLE_TIMEOUT: requests in bursts while threads retire between them all succeed, on new threads', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4'], { PM: 'ondemand', PM_IDLE_TIMEOUT: '40ms' });
  try {
    const ids: string[] = [];
    // gaps around the idle timeout: some bursts find threads retiring, others none left
    for (let round = 0; round < 40; round++) {
      ids.push(...await Promise.all(Array.from({ length: 6 }, () => thread(cli, 5))));
      await sleep(20 + (round % 5) * 10);
    }
    assert.equal(ids.length, 240);
    assert.ok(new Set(ids).size > 4, `threads retired and new ones started: ${new Set(ids).size} threads`);
    await until(cli, (x) => x['total processes'] === 0, 'every thread retired');
  } finally {
    await stopCli(cli);
  }
});

test('PM=dynamic: requests one after another while idle threads retire all succeed', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '4'], { PM: 'dynamic', PM_START_WORKERS: '4', PM_MIN_SPARE: '1', PM_MAX_SPARE: '1' });
  try {
    let shrunk = false;
    const served = load(cli, 1, 0, () => shrunk);
    await until(cli, (x) => Number(x['total processes']) <= 2, 'idle threads retired');
    shrunk = true;
    assert.ok((await served).length > 0);
  } finally {
    await stopCli(cli);
  }
});

test('worker mode: PM=ondemand applies to the classic threads, the worker script keeps its thread', async () => {
  const cli = await startCli(['--docroot', path.join(FIXTURES, 'worker'), '--worker', 'index.php', '--workers', '3', '--worker-threads', '1'],
    { PM: 'ondemand', PM_IDLE_TIMEOUT: '3s' });
  try {
    assert.equal((await status(cli))['total processes'], 1, 'the worker script\'s thread alone');
    const classic = await get(`http://127.0.0.1:${cli.port}/classic.php`, { agent: false });
    assert.deepEqual(JSON.parse(classic.body.toString()), { classic: true, script: '/classic.php' });
    assert.equal((await status(cli))['total processes'], 2, 'and the classic thread started for that request');
    await until(cli, (x) => x['total processes'] === 1, 'the classic thread retired');
    assert.equal((await get(`http://127.0.0.1:${cli.port}/`, { agent: false })).status, 200);
  } finally {
    await stopCli(cli);
  }
});

test('a bad PM setting stops startup with exit code 2, naming the variable and what it accepts', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PM: 'adaptive' }, /^tokio-php: PM="adaptive" is not valid: expected static, dynamic or ondemand\n$/],
    [{ PM_MIN_SPARE: '1' }, /^tokio-php: PM_MIN_SPARE needs PM=dynamic \(PM is static\)\n$/],
    [{ PM: 'ondemand', PM_START_WORKERS: '1' }, /^tokio-php: PM_START_WORKERS needs PM=dynamic \(PM is ondemand\)\n$/],
    [{ PM: 'dynamic', PM_IDLE_TIMEOUT: '5s' }, /^tokio-php: PM_IDLE_TIMEOUT needs PM=ondemand \(PM is dynamic\)\n$/],
    [{ PM: 'dynamic', PHP_WORKERS: '4', PM_MIN_SPARE: '3', PM_MAX_SPARE: '2' },
      /^tokio-php: PM_MIN_SPARE="3" is not valid: expected an integer from 1 to PM_MAX_SPARE, with PM=dynamic \(here 1 to 2\)\n$/],
    [{ PM: 'dynamic', PHP_WORKERS: '4', PM_MAX_SPARE: '5' },
      /^tokio-php: PM_MAX_SPARE="5" is not valid: expected an integer from PM_MIN_SPARE to PHP_WORKERS \(the classic threads\), with PM=dynamic \(here 1 to 4\)\n$/],
    [{ PM: 'dynamic', PHP_WORKERS: '4', PM_MIN_SPARE: '2', PM_START_WORKERS: '1' },
      /^tokio-php: PM_START_WORKERS="1" is not valid: expected an integer from PM_MIN_SPARE to PHP_WORKERS \(the classic threads\), with PM=dynamic \(here 2 to 4\)\n$/],
    [{ PM: 'dynamic', PHP_WORKERS: '4', PM_START_WORKERS: '5' }, /PM_START_WORKERS="5" is not valid: .* \(here 1 to 4\)\n$/],
    [{ PM: 'ondemand', PM_IDLE_TIMEOUT: 'never' }, /^tokio-php: PM_IDLE_TIMEOUT="never" is not valid: expected a duration like 10s or 500ms, with PM=ondemand\n$/],
  ];
  for (const [env, message] of cases) {
    const r = spawnSync(process.execPath, [CLI, '--docroot', root], { env: { ...CLI_ENV, ...env }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, JSON.stringify(env));
    assert.match(r.stderr, message);
  }
});
