// The middleware chain over real sockets: a library user's own middleware sees (and may change)
// every response — PHP whole and streamed, static files, the server's own errors — in priority
// order; the access log writes one JSON line per request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { Engine, type Middleware } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { startCli } from './helpers/cli.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-mw-'));
const root = path.join(tmp, 'site');
let engine: Engine;
let site: Running;
const seen: { name: string; status: number; bytes: number; upstream: string; aborted: boolean }[] = [];
const order: string[] = [];

/** Upper-cases the body: a filter that changes every byte, so that a missed path shows. */
const upper = () => new Transform({ transform(chunk: Buffer, _enc, done) { done(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1')); } });

const tagging = (name: string, priority: number): Middleware => ({
  name,
  priority,
  onRequest(ctx) {
    order.push(`request ${name}`);
    if (name === 'outer' && ctx.head.url === '/blocked') return { status: 403, headers: ['Content-Type', 'text/plain', 'X-Blocked-By', name], body: 'no\n' };
    return undefined;
  },
  onSend(ctx, reply) {
    order.push(`send ${name}`);
    reply.setHeader('X-Chain', [reply.getHeader('x-chain'), name].filter(Boolean).join(','));
    if (name === 'inner' && ctx.header('x-upper') === '1') return upper();
    return undefined;
  },
  onResponse(ctx, done) {
    order.push(`response ${name}`);
    if (name === 'outer') seen.push({ name: ctx.head.url, status: done.status, bytes: done.bytes, upstream: ctx.upstream, aborted: done.aborted });
  },
});

before(async () => {
  cpSync(path.join(FIXTURES, 'site'), root, { recursive: true });
  cpSync(path.join(FIXTURES, 'bridge/flush.php'), path.join(root, 'flush.php'));
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root, INTERNAL_ADDR: 'off' }, { middleware: [tagging('inner', 50), tagging('outer', 5)] });
});
after(async () => {
  await site.close();
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

test('lower priority runs first on the request and last on the response; an early answer skips routing and PHP', async () => {
  order.length = 0;
  seen.length = 0;
  const r = await get(`${site.base}/hello.txt`);
  assert.equal(r.status, 200);
  assert.deepEqual(order, ['request outer', 'request inner', 'send inner', 'send outer', 'response inner', 'response outer']);
  assert.equal(r.headers['x-chain'], 'inner,outer');

  const blocked = await get(`${site.base}/blocked`);
  assert.equal(blocked.status, 403);
  assert.equal(blocked.body.toString(), 'no\n');
  assert.equal(blocked.headers['x-blocked-by'], 'outer');
  assert.equal(blocked.headers['x-chain'], 'inner,outer', 'an early answer passes the response side too');
  assert.deepEqual(seen.map((s) => [s.name, s.status, s.upstream]), [['/hello.txt', 200, 'static'], ['/blocked', 403, 'server']]);
});

test('every kind of response passes through: PHP, streamed PHP, static, HEAD, 304, the server\'s own 404 and 400', async () => {
  seen.length = 0;
  const php = await get(`${site.base}/info.php?x=1`);
  assert.equal(php.headers['x-chain'], 'inner,outer');
  const streamed = await get(`${site.base}/flush.php`);
  assert.equal(streamed.headers['transfer-encoding'], 'chunked');
  assert.equal(streamed.headers['x-chain'], 'inner,outer');
  assert.equal(streamed.body.toString(), 'one\ntwo\nend\n');
  const head = await get(`${site.base}/hello.txt`, { method: 'HEAD' });
  assert.equal(head.headers['x-chain'], 'inner,outer');
  const etag = String(head.headers.etag);
  const notModified = await get(`${site.base}/hello.txt`, { headers: { 'If-None-Match': etag } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers['x-chain'], 'inner,outer');
  const missing = await get(`${site.base}/nope.php`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['x-chain'], 'inner,outer');
  const bad = await raw(site.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'); // two Hosts: refused as nginx does
  assert.match(bad, /^HTTP\/1\.1 400 /);
  assert.match(bad, /\r\nX-Chain: inner,outer\r\n/i);
  const hello = readFileSync(path.join(root, 'hello.txt'));
  assert.deepEqual(seen.map((s) => [s.name, s.status, s.upstream]), [
    ['/info.php', 200, 'php'], ['/flush.php', 200, 'php'], ['/hello.txt', 200, 'static'], ['/hello.txt', 304, 'static'],
    ['/nope.php', 404, 'server'], ['/', 400, 'server'],
  ]);
  assert.equal(seen[0].bytes, php.body.length);
  assert.equal(seen[1].bytes, streamed.body.length);
  assert.equal(seen[2].bytes, 0, 'HEAD sends no body');
  assert.ok(hello.length > 0);
});

test('a body filter changes whole, streamed and static bodies to the exact bytes; Content-Length follows', async () => {
  const php = await get(`${site.base}/info.php?x=1`, { headers: { 'X-Upper': '1' } });
  const plain = await get(`${site.base}/info.php?x=1`);
  assert.equal(php.body.toString(), plain.body.toString().toUpperCase());
  assert.equal(php.headers['content-length'], String(php.body.length));
  const streamed = await get(`${site.base}/flush.php`, { headers: { 'X-Upper': '1' } });
  assert.equal(streamed.body.toString(), 'ONE\nTWO\nEND\n');
  const file = await get(`${site.base}/hello.txt`, { headers: { 'X-Upper': '1' } });
  assert.equal(file.body.toString('latin1'), readFileSync(path.join(root, 'hello.txt'), 'latin1').toUpperCase());
});

test('ACCESS_LOG=on: one JSON line per request with what an operator needs', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-access-'));
  const logFile = path.join(dir, 'tokio.log');
  const cli = await startCli(['--docroot', root, '--workers', '1', '--access-log', 'on', '--log-file', logFile], {}, logFile);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    await get(`${base}/info.php?a=1`, { headers: { 'User-Agent': 'probe/1.0', Referer: 'http://example.test/from', 'X-Request-ID': 'req-42' } });
    await get(`${base}/hello.txt`);
    await get(`${base}/missing.txt`);
    await get(`${base}/warn.php`, { headers: { 'X-Request-ID': 'req-43' } });
    await cli.waitFor(/"source":"access"/, 4);
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"source":"access"')).map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    const [php, file, missing, warned] = lines;
    // PHP's own log lines carry the request's ids too
    const phpLine = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"source":"php"')).map((l) => JSON.parse(l))
      .find((l) => l.requestId === 'req-43');
    assert.ok(phpLine, 'the warning is logged with its request id');
    assert.equal(phpLine.level, 40);
    assert.equal(phpLine.traceId, warned.trace_id);
    assert.equal(typeof php.time, 'number');
    assert.deepEqual(
      { method: php.method, path: php.path, query: php.query, status: php.status, upstream: php.upstream, worker: php.worker,
        remote_addr: php.remote_addr, user_agent: php.user_agent, referer: php.referer, request_id: php.request_id, protocol: php.protocol },
      { method: 'GET', path: '/info.php', query: 'a=1', status: 200, upstream: 'php', worker: 0, remote_addr: '127.0.0.1',
        user_agent: 'probe/1.0', referer: 'http://example.test/from', request_id: 'req-42', protocol: 'HTTP/1.1' });
    assert.match(php.trace_id, /^[0-9a-f]{32}$/);
    assert.ok(php.bytes > 0 && php.duration_ms > 0);
    assert.deepEqual([file.status, file.upstream, file.bytes], [200, 'static', readFileSync(path.join(root, 'hello.txt')).length]);
    assert.deepEqual([missing.status, missing.upstream], [404, 'server']);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
