// Overload, timeouts, disconnects and TLS, over real sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { get as httpsGet } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { get, startServer } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-limits-'));
let engine: Engine;

before(async () => {
  engine = await Engine.start({ workers: 1, env: {}, logger: () => {} });
});
after(async () => {
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

test('a flood beyond QUEUE_CAPACITY gets immediate 503s with Retry-After; admitted requests all complete', async () => {
  const site = await startServer(engine, { DOCUMENT_ROOT: root, QUEUE_CAPACITY: '2' });
  try {
    const replies = await Promise.all(Array.from({ length: 10 }, () => get(`${site.base}/slow.php?ms=400`, { agent: false })));
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 503);
    assert.equal(ok.length, 3, '1 running + 2 queued');
    assert.equal(refused.length, 7);
    for (const r of ok) assert.equal(r.body.toString(), 'slept');
    for (const r of refused) assert.equal(r.headers['retry-after'], '1');
  } finally {
    await site.close();
  }
});

test('REQUEST_TIMEOUT → 504, the script is stopped and the worker serves the next request', async () => {
  const site = await startServer(engine, { DOCUMENT_ROOT: root, REQUEST_TIMEOUT: '500ms' });
  try {
    const r = await get(`${site.base}/spin.php`);
    assert.equal(r.status, 504);
    const next = await get(`${site.base}/info.php`);
    assert.equal(next.status, 200);
    assert.deepEqual(engine.stats().workers.map((w) => w.state), ['idle']);
  } finally {
    await site.close();
  }
});

test('REQUEST_TIMEOUT counts execution, not the wait for a worker: six 400 ms scripts on 1 worker under 1 s all succeed', async () => {
  const site = await startServer(engine, { DOCUMENT_ROOT: root, REQUEST_TIMEOUT: '1s' });
  try {
    const replies = await Promise.all(Array.from({ length: 6 }, () => get(`${site.base}/slow.php?ms=400`, { agent: false })));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(replies.map((r) => r.body.toString()), Array(6).fill('slept'));
  } finally {
    await site.close();
  }
});

test('a client that disconnects stops its script', async () => {
  const site = await startServer(engine, { DOCUMENT_ROOT: root });
  const mark = path.join(tmp, 'disconnected');
  try {
    const req = httpRequest(`${site.base}/slow.php?ms=10000&mark=${encodeURIComponent(mark)}`, { agent: false });
    req.on('error', () => {});
    req.end();
    await sleep(300);
    req.destroy();
    for (let i = 0; i < 100 && !existsSync(mark); i++) await sleep(20);
    assert.equal(readFileSync(mark, 'utf8'), 'status=1', 'stopped as aborted, long before its 10 s');
    assert.equal((await get(`${site.base}/info.php`)).status, 200);
  } finally {
    await site.close();
  }
});

test('TLS with a self-signed certificate: HTTPS=on and REQUEST_SCHEME=https reach PHP', async () => {
  const key = path.join(tmp, 'key.pem');
  const cert = path.join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const site = await startServer(engine, { DOCUMENT_ROOT: root, TLS_CERT: cert, TLS_KEY: key });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet(`${site.base}/info.php`, { rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    const s = JSON.parse(body);
    assert.equal(s.HTTPS, 'on');
    assert.equal(s.REQUEST_SCHEME, 'https');
  } finally {
    await site.close();
  }
});
