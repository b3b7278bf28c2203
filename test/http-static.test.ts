// Static files: types, validators, HEAD, ranges, and a large file streamed whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { get, startServer, type Running } from './helpers/server.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'tokio-static-'));
const big = randomBytes(24 * 1024 * 1024 + 3);
let engine: Engine;
let site: Running;

before(async () => {
  writeFileSync(path.join(root, 'a.css'), 'body{}');
  writeFileSync(path.join(root, 'data.json'), '{"a":1}');
  writeFileSync(path.join(root, 'img.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(path.join(root, 'blob.unknownext'), 'x');
  writeFileSync(path.join(root, 'digits.txt'), '0123456789');
  writeFileSync(path.join(root, 'big.bin'), big);
  utimesSync(path.join(root, 'digits.txt'), 1700000000, 1700000000);
  engine = await Engine.start({ workers: 1, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root });
});
after(async () => {
  await site.close();
  await engine.shutdown();
  rmSync(root, { recursive: true, force: true });
});

test('Content-Type by extension', async () => {
  for (const [file, type] of [['a.css', 'text/css; charset=utf-8'], ['data.json', 'application/json; charset=utf-8'],
    ['img.png', 'image/png'], ['blob.unknownext', 'application/octet-stream'], ['digits.txt', 'text/plain; charset=utf-8']]) {
    assert.equal((await get(`${site.base}/${file}`)).headers['content-type'], type, file);
  }
});

test('ETag and Last-Modified, with 304 on If-None-Match and If-Modified-Since', async () => {
  const r = await get(`${site.base}/digits.txt`);
  assert.equal(r.headers.etag, `"${(1700000000).toString(16)}-a"`);
  assert.equal(r.headers['last-modified'], 'Tue, 14 Nov 2023 22:13:20 GMT');
  assert.equal(r.headers['content-length'], '10');
  const byTag = await get(`${site.base}/digits.txt`, { headers: { 'If-None-Match': r.headers.etag } });
  assert.equal(byTag.status, 304);
  assert.equal(byTag.body.length, 0);
  assert.equal(byTag.headers.etag, r.headers.etag);
  assert.equal((await get(`${site.base}/digits.txt`, { headers: { 'If-None-Match': '"other"' } })).status, 200);
  assert.equal((await get(`${site.base}/digits.txt`, { headers: { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' } })).status, 304);
  assert.equal((await get(`${site.base}/digits.txt`, { headers: { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:19 GMT' } })).status, 200);
});

test('HEAD carries the headers and no body', async () => {
  const r = await get(`${site.base}/digits.txt`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '10');
  assert.equal(r.body.length, 0);
});

test('Range: 206 for a single range, 416 when unsatisfiable', async () => {
  const cases: [string, number, string, string | undefined][] = [
    ['bytes=2-5', 206, '2345', 'bytes 2-5/10'],
    ['bytes=7-', 206, '789', 'bytes 7-9/10'],
    ['bytes=-3', 206, '789', 'bytes 7-9/10'],
    ['bytes=5-100', 206, '56789', 'bytes 5-9/10'],
    ['bytes=10-', 416, '', 'bytes */10'],
    ['bytes=0-1,4-5', 200, '0123456789', undefined],
  ];
  for (const [range, status, body, contentRange] of cases) {
    const r = await get(`${site.base}/digits.txt`, { headers: { Range: range } });
    assert.equal(r.status, status, range);
    assert.equal(r.body.toString(), body, range);
    assert.equal(r.headers['content-range'], contentRange, range);
  }
  const stale = await get(`${site.base}/digits.txt`, { headers: { Range: 'bytes=0-1', 'If-Range': '"stale"' } });
  assert.equal(stale.status, 200);
});

test('a large file arrives whole, and a range of it too', async () => {
  const r = await get(`${site.base}/big.bin`);
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), statSync(path.join(root, 'big.bin')).size);
  assert.equal(createHash('sha1').update(r.body).digest('hex'), createHash('sha1').update(big).digest('hex'));
  const part = await get(`${site.base}/big.bin`, { headers: { Range: 'bytes=1000000-9000000' } });
  assert.equal(part.status, 206);
  assert.deepEqual(part.body, big.subarray(1000000, 9000001));
});

test('a small file edited in place is served fresh at once', async () => {
  const file = path.join(root, 'edit.txt');
  writeFileSync(file, 'first');
  assert.equal((await get(`${site.base}/edit.txt`)).body.toString(), 'first');
  writeFileSync(file, 'second!');
  assert.equal((await get(`${site.base}/edit.txt`)).body.toString(), 'second!');
});

test('a mid-size file (read into memory in the background) is whole on every request, and fresh after an edit', async () => {
  const file = path.join(root, 'mid.bin');
  const one = randomBytes(300 * 1024);
  writeFileSync(file, one);
  for (let i = 0; i < 3; i++) {
    const r = await get(`${site.base}/mid.bin`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, one, `request ${i + 1}`);
  }
  const two = randomBytes(300 * 1024 + 1);
  writeFileSync(file, two);
  assert.deepEqual((await get(`${site.base}/mid.bin`)).body, two);
  const part = await get(`${site.base}/mid.bin`, { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.deepEqual(part.body, two.subarray(100, 200));
});

test('other methods than GET and HEAD on a static file → 405, as nginx answers', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await get(`${site.base}/digits.txt`, { method, body: 'x' });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
});
