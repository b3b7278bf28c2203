// N requests on N threads at once: nothing of one request shows in another.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES, header, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');
const WORKERS = 4;
let engine: Engine;

before(async () => {
  engine = await Engine.start({ workers: WORKERS, env: {} });
});
after(() => engine.shutdown());

test('60 concurrent requests: no cross-talk of globals, statics, superglobals, headers, status, ini, cwd', async () => {
  const n = 60;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => {
    const me = String(i);
    return engine.execute(phpRequest(root, `/isolation.php?n=${me}`, {
      method: 'POST',
      headers: ['Host', 'h', 'X-N', me, 'Cookie', `n=${me}`, 'Content-Type', 'application/x-www-form-urlencoded'],
      body: Buffer.from(`n=${me}`),
    }));
  }));
  const workersUsed = new Set<number>();
  results.forEach((res, i) => {
    const me = String(i);
    workersUsed.add(res.worker);
    assert.equal(res.status, 200 + (i % 50));
    assert.equal(header(res, 'X-Me'), me);
    assert.equal(res.headers.filter((h) => h === 'X-Me').length, 1);
    assert.deepEqual(JSON.parse(res.body.toString()), {
      me, get: me, post: me, cookie: me, header: me, global: me, const: me, counter: 1,
      ini: String(5 + (i % 9)), cwd: 'sub',
      before: { ini: '14', tz: 'UTC', cwd: root, session: 1 },
    });
  });
  assert.equal(workersUsed.size, WORKERS, 'every worker took part');
  const stats = engine.stats();
  assert.equal(stats.workers.reduce((sum, w) => sum + w.requests, 0), n);
  assert.deepEqual(stats.workers.map((w) => w.state), Array(WORKERS).fill('idle'));
  assert.ok(stats.workers.every((w) => w.peakMemory > 0));
});
