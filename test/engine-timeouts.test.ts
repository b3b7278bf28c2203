// max_execution_time counts CPU time, as php-fpm's setitimer(ITIMER_PROF) on Linux; 'wall' keeps
// PHP's own ZTS timers, which count wall-clock time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Engine, type PhpLogEntry } from '../src/index.js';
import { FIXTURES, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');

async function withEngine(clock: 'cpu' | 'wall' | undefined, fn: (run: (uri: string) => Promise<{ status: number; body: string; log: string }>, engine: Engine) => Promise<void>) {
  const logs: PhpLogEntry[] = [];
  const engine = await Engine.start({ workers: 1, env: {}, ini: { max_execution_time: 1 }, executionTimeClock: clock, logger: (e) => logs.push(e) });
  let n = 0;
  const run = async (uri: string) => {
    const requestId = `t${++n}`;
    const res = await engine.execute(phpRequest(root, uri, { requestId }));
    return { status: res.status, body: res.body.toString(), log: logs.filter((l) => l.requestId === requestId).map((l) => l.message).join('\n') };
  };
  try {
    await fn(run, engine);
  } finally {
    await engine.shutdown();
  }
}

test('by default a script that waits 2 s survives max_execution_time=1; a busy loop is stopped with PHP\'s fatal error', async () => {
  await withEngine(undefined, async (run, engine) => {
    assert.equal(engine.info.executionTimeClock, 'cpu');
    assert.deepEqual(await run('/waits.php?sleep_ms=2000'), { status: 200, body: 'done', log: '' });
    const spin = await run('/waits.php?spin=1');
    assert.equal(spin.status, 500);
    assert.match(spin.log, /PHP Fatal error:  Maximum execution time of 1 second exceeded/);
    // set_time_limit() keeps working, on the same clock
    assert.deepEqual(await run('/waits.php?limit=1&sleep_ms=1500'), { status: 200, body: 'done', log: '' });
    assert.match((await run('/waits.php?limit=1&spin=1')).log, /Maximum execution time of 1 second exceeded/);
    assert.deepEqual(await run('/waits.php'), { status: 200, body: 'done', log: '' });
  });
});

test('executionTimeClock "wall": PHP\'s ZTS timers count the wait too', async () => {
  await withEngine('wall', async (run, engine) => {
    assert.equal(engine.info.executionTimeClock, 'wall');
    const slept = await run('/waits.php?sleep_ms=2000');
    assert.equal(slept.status, 500);
    assert.match(slept.log, /PHP Fatal error:  Maximum execution time of 1 second exceeded/);
  });
});
