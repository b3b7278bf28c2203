// The three executors: ext and eval show a script the same superglobals; stub runs no PHP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { Engine } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { TokioServer } from '../src/server/server.js';
import { FIXTURES, multipart } from './helpers/php.js';
import { get, startServer } from './helpers/server.js';

const root = path.join(FIXTURES, 'engine');
const form = multipart([
  { name: 'title', value: 'a "quoted" \\ value' },
  { name: 'doc', filename: 'a.txt', type: 'text/plain', data: Buffer.from('file body') },
], '----tokio-fixed-boundary');

const VOLATILE = ['REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'REMOTE_PORT', 'SERVER_PORT', 'HTTP_HOST', 'TRACE_ID', 'SPAN_ID', 'REQUEST_ID', 'HTTP_X_REQUEST_ID'];

async function observe(executor: 'ext' | 'eval') {
  const engine = await Engine.start({ workers: 1, env: { APP_ENV: 'test' }, executor, logger: () => {} });
  const site = await startServer(engine, { DOCUMENT_ROOT: root });
  try {
    const out = [];
    for (const [uri, options] of [
      ['/superglobals.php/extra?a=1&b[]=x&b[]=y&c[k]=v&sp=a+b%26c', { headers: { Cookie: 'sid=1; arr[x]=2', 'X-Custom': "it's \\ quoted", Proxy: 'http://attacker.example:8080' } }],
      ['/superglobals.php', { method: 'POST', headers: { 'Content-Type': form.type }, body: form.body }],
      ['/superglobals.php?q=1', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'p=1&q[]=2' }],
    ] as const) {
      const r = await get(`${site.base}${uri}`, options);
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body.toString());
      for (const key of VOLATILE) delete seen.server[key];
      out.push(seen);
    }
    return { out, info: engine.info };
  } finally {
    await site.close();
    await engine.shutdown();
  }
}

test('the ext and eval executors show the same $_GET, $_POST, $_COOKIE, $_SERVER, $_FILES', async () => {
  const ext = await observe('ext');
  const evaled = await observe('eval');
  assert.deepEqual(evaled.out, ext.out);
  const [first, multi] = ext.out;
  assert.deepEqual(first.get, { a: '1', b: ['x', 'y'], c: { k: 'v' }, sp: 'a b&c' });
  assert.equal(first.server.HTTP_X_CUSTOM, "it's \\ quoted");
  // httpoxy: a Proxy header never poses as the HTTP_PROXY setting, under either executor
  for (const seen of [ext.out[0], evaled.out[0]]) {
    assert.equal(seen.server.HTTP_PROXY, undefined);
    assert.equal(seen.getenv_http_proxy, false);
  }
  assert.equal(first.server.PATH_INFO, '/extra');
  assert.equal(first.server.APP_ENV, 'test');
  assert.deepEqual(multi.post, { title: 'a "quoted" \\ value' });
  assert.deepEqual(multi.files, { doc: { name: 'a.txt', full_path: 'a.txt', type: 'text/plain', error: 0, size: 9 } });
});

test('USE_STUB=1 answers every PHP route without PHP; static files are still served', async () => {
  const config = loadConfig({ LISTEN_ADDR: '127.0.0.1:0', DOCUMENT_ROOT: path.join(FIXTURES, 'site'), USE_STUB: '1' });
  assert.equal(config.executor, 'stub');
  const server = new TokioServer(config, null, createLogger('silent'));
  const [{ port }] = server.listen() as { port: number }[];
  try {
    const r = await get(`http://127.0.0.1:${port}/info.php`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'Hello from the tokio-php stub executor: no PHP ran.\n');
    assert.equal((await get(`http://127.0.0.1:${port}/hello.txt`)).body.toString(), 'hello static\n');
  } finally {
    await server.close(1000);
  }
});

test('EXECUTOR, USE_EXT and USE_STUB choose the executor; bad values are refused', () => {
  const base = { DOCUMENT_ROOT: root };
  assert.equal(loadConfig(base).executor, 'ext');
  assert.equal(loadConfig({ ...base, USE_EXT: '0' }).executor, 'eval');
  assert.equal(loadConfig({ ...base, USE_EXT: '1' }).executor, 'ext');
  assert.equal(loadConfig({ ...base, EXECUTOR: 'eval' }).executor, 'eval');
  assert.equal(loadConfig({ ...base, EXECUTOR: 'stub' }).executor, 'stub');
  assert.throws(() => loadConfig({ ...base, EXECUTOR: 'fast' }), /EXECUTOR="fast" is not valid: expected ext, eval or stub/);
  assert.throws(() => loadConfig({ ...base, USE_EXT: 'yes' }), /USE_EXT="yes" is not valid: expected 0 or 1/);
});
