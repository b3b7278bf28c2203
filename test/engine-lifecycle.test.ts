// Worker threads come and go; the engine starts, reports and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');

test('a worker thread that has served maxRequests is replaced and requests go on', async () => {
  const engine = await Engine.start({ workers: 1, maxRequests: 2, env: {} });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await engine.execute(phpRequest(root, '/worker.php'));
      assert.equal(res.status, 200);
    }
    const [w] = engine.stats().workers;
    assert.equal(w.requests, 5);
    assert.ok(w.threads >= 3, `threads: ${w.threads}`);
  } finally {
    await engine.shutdown();
  }
});

test('shutdown lets queued requests finish, then refuses new ones', async () => {
  const engine = await Engine.start({ workers: 1, env: {} });
  const pending = [1, 2, 3].map(() => engine.execute(phpRequest(root, '/worker.php')));
  await engine.shutdown();
  for (const res of await Promise.all(pending)) assert.equal(res.status, 200);
  await assert.rejects(engine.execute(phpRequest(root, '/worker.php')), /shut down/);
});

test('ini entries override the defaults; bad options stop the start with a reason', async () => {
  const engine = await Engine.start({ workers: 1, env: {}, ini: { precision: 7 } });
  try {
    const res = await engine.execute(phpRequest(root, '/worker.php'));
    assert.equal(JSON.parse(res.body.toString()).ini, '7');
  } finally {
    await engine.shutdown();
  }
  await assert.rejects(Engine.start({ workers: 0 }), /workers must be an integer from 1 to 1024/);
  await assert.rejects(Engine.start({ ini: { 'bad key': 1 } }), /invalid php.ini directive name: "bad key"/);
});
