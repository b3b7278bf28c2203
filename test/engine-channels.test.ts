// One pool, several JS threads: an engine attached on a worker_thread submits to the pool that
// the main thread's engine started, and its requests are answered on its own thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Engine } from '../src/index.js';
import { FIXTURES, phpRequest } from './helpers/php.js';

const site = path.join(FIXTURES, 'site');
const engineModule = pathToFileURL(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/engine/engine.js')).href;

/** Runs `body` (an async function's text, given Engine and phpRequest's inputs) on a worker_thread; resolves with what it returns. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever `body` returns; the asserts check it
function onThread(body: string, data: unknown): Promise<any> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(engineModule)}).then(async ({ Engine }) => {
      try {
        parentPort.postMessage({ ok: await (${body})(Engine, workerData) });
      } catch (err) {
        parentPort.postMessage({ error: String(err && err.message || err) });
      }
    });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: data });
    worker.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m.ok)));
    worker.once('error', reject);
  });
}

const request = (uri: string) => ({
  method: 'GET', uri, scriptFilename: path.join(site, 'whoami.php'), scriptName: '/whoami.php', documentRoot: site,
});

test('attaching with no engine started in the process is refused with a clear error', async () => {
  await assert.rejects(onThread('async (Engine) => { await Engine.attach(1); }', null), /no engine runs PHP in this process/);
});

test('a thread\'s attached engine shares the pool: its request and the main thread\'s run at once, each answered on its own thread', async () => {
  const engine = await Engine.start({ workers: 2, env: {} });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-channels-'));
  try {
    const mine = engine.execute(phpRequest(site, `/whoami.php?dir=${dir}&me=main&other=thread`));
    const theirs = onThread(`async (Engine, data) => {
      const engine = await Engine.attach(1);
      const results = [];
      for (let i = 0; i < 20; i++) {
        const r = await engine.execute(i === 0 ? data.meet : { ...data.meet, uri: '/whoami.php' });
        results.push({ status: r.status, body: r.body.toString(), worker: r.worker, id: r.id });
      }
      const inFlight = engine.stats().inFlight;
      await engine.shutdown();
      return { results, inFlight, info: engine.info };
    }`, { meet: request(`/whoami.php?dir=${dir}&me=thread&other=main`) });
    const [main, thread] = await Promise.all([mine, theirs]);
    assert.equal(main.status, 200);
    const met = JSON.parse(thread.results[0].body);
    assert.notEqual(JSON.parse(main.body.toString()).worker, met.worker, 'both ran at once on the two threads');
    assert.equal(thread.results.length, 20);
    for (const r of thread.results) {
      assert.equal(r.status, 200);
      assert.equal(r.id % 64, 1, 'the channel\'s ids');
    }
    assert.equal(thread.inFlight, 0);
    assert.equal(thread.info.workers, 2);
    assert.equal(thread.info.phpVersion, engine.info.phpVersion);
    // the pool served on, and counts the thread's requests
    assert.equal((await engine.execute(phpRequest(site, '/whoami.php'))).status, 200);
    assert.equal(engine.stats().workers.reduce((n, w) => n + w.requests, 0), 22);
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
