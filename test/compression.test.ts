// COMPRESSION, STATIC_CACHE_TTL and ERROR_PAGES_DIR over real sockets: negotiation, exact bytes
// after decompression, where they must not apply, streaming that is not held back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { Engine } from '../src/index.js';
import { negotiate } from '../src/middleware/compression.js';
import { isHashedName } from '../src/middleware/static-cache.js';
import { FIXTURES } from './helpers/php.js';
import { get, startServer, type Running } from './helpers/server.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-compress-'));
const root = path.join(tmp, 'site');
const pages = path.join(tmp, 'pages');
const css = Buffer.from(Array.from({ length: 300 }, (_, i) => `.rule-${i} { color: #${(i * 4099).toString(16).padStart(6, '0').slice(0, 6)}; }\n`).join(''));
const script = Buffer.from(`console.log(${JSON.stringify('x'.repeat(4000))});\n`);
let engine: Engine;
let site: Running;
let plain: Running;

before(async () => {
  cpSync(path.join(FIXTURES, 'site'), root, { recursive: true });
  writeFileSync(path.join(root, 'app.css'), css);
  // precompressed at brotli's highest quality: on-the-fly compression (quality 4) would differ
  writeFileSync(path.join(root, 'app.css.br'), brotliCompressSync(css, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(path.join(root, 'app.css.gz'), gzipSync(css, { level: 9 }));
  writeFileSync(path.join(root, 'app.3f9a2c1b.js'), script);
  writeFileSync(path.join(root, 'tiny.txt'), 'small\n');
  writeFileSync(path.join(root, 'photo.png'), Buffer.alloc(5000, 7));
  writeFileSync(path.join(root, 'big.php'), '<?php header("Content-Type: text/plain"); echo str_repeat("tokio-php compresses this line\\n", 200);');
  writeFileSync(path.join(root, 'empty-error.php'), '<?php http_response_code(500);');
  writeFileSync(path.join(root, 'own-error.php'), '<?php http_response_code(500); echo "the script\'s own page";');
  // the second part waits until the client has decompressed the first: held back, it never comes
  writeFileSync(path.join(root, 'parts.php'), `<?php header('Content-Type: text/plain');
echo str_repeat("first part\\n", 100); ob_flush(); flush();
for ($i = 0; $i < 500 && !file_exists($_GET['signal']); $i++) usleep(10000);
echo file_exists($_GET['signal']) ? "second part\\n" : "held back\\n";`);
  writeFileSync(path.join(root, 'events.php'), `<?php header('Content-Type: text/event-stream'); echo str_repeat("data: x\\n\\n", 200);`);
  mkdirSync(pages);
  writeFileSync(path.join(pages, '404.html'), '<h1>Not here</h1>\n');
  writeFileSync(path.join(pages, '5xx.html'), '<h1>Our fault</h1>\n');
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, {
    DOCUMENT_ROOT: root, COMPRESSION: 'br,gzip', STATIC_CACHE_TTL: '1h', STATIC_CACHE_TTL_EXT: 'txt=off,png=7d',
    STATIC_CACHE_IMMUTABLE: 'on', ERROR_PAGES_DIR: pages, INTERNAL_ADDR: 'off',
  });
  plain = await startServer(engine, { DOCUMENT_ROOT: root, INTERNAL_ADDR: 'off' });
});
after(async () => {
  await site.close();
  await plain.close();
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

const withEncoding = (url: string, acceptEncoding: string, headers: Record<string, string> = {}) =>
  get(url, { headers: { 'Accept-Encoding': acceptEncoding, ...headers } });

test('Accept-Encoding is negotiated with q-values', () => {
  const both = ['br', 'gzip'] as const;
  assert.equal(negotiate('gzip, deflate, br', both), 'br', 'the server prefers br');
  assert.equal(negotiate('gzip;q=1, br;q=0.5', both), 'gzip');
  assert.equal(negotiate('br;q=0, gzip', both), 'gzip');
  assert.equal(negotiate('br;q=0', both), null);
  assert.equal(negotiate('identity', both), null);
  assert.equal(negotiate('*', both), 'br');
  assert.equal(negotiate('*;q=0.1, br;q=0', both), 'gzip');
  assert.equal(negotiate('x-gzip', both), 'gzip');
  assert.equal(negotiate('', both), null);
  assert.equal(negotiate('br', ['gzip']), null);
});

test('PHP and static responses are compressed as negotiated; the bodies decompress to the exact bytes', async () => {
  const expected = (await get(`${plain.base}/big.php`)).body;
  const br = await withEncoding(`${site.base}/big.php`, 'gzip, deflate, br');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'Accept-Encoding');
  assert.equal(br.headers['content-length'], String(br.body.length));
  assert.ok(br.body.length < expected.length / 5);
  assert.deepEqual(brotliDecompressSync(br.body), expected);
  const gz = await withEncoding(`${site.base}/big.php`, 'br;q=0, gzip');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(gz.body), expected);
  const identity = await withEncoding(`${site.base}/big.php`, 'identity');
  assert.equal(identity.headers['content-encoding'], undefined);
  assert.equal(identity.headers.vary, 'Accept-Encoding');
  assert.deepEqual(identity.body, expected);

  const js = await withEncoding(`${site.base}/app.3f9a2c1b.js`, 'gzip');
  assert.equal(js.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(js.body), script);
  assert.equal(js.headers['accept-ranges'], undefined, 'ranges refer to the uncompressed bytes');
  assert.match(String(js.headers.etag), /^W\/"/, 'not the same bytes as the file: a weak ETag, as nginx');
});

test('no compression for small bodies, images, HEAD, Range, 304, event streams or bodies already encoded', async () => {
  assert.equal((await withEncoding(`${site.base}/tiny.txt`, 'br')).headers['content-encoding'], undefined);
  const png = await withEncoding(`${site.base}/photo.png`, 'br');
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.body.length, 5000);
  const head = await get(`${site.base}/big.php`, { method: 'HEAD', headers: { 'Accept-Encoding': 'br' } });
  assert.equal(head.headers['content-encoding'], undefined);
  const range = await withEncoding(`${site.base}/app.3f9a2c1b.js`, 'br', { Range: 'bytes=0-9' });
  assert.equal(range.status, 206);
  assert.equal(range.headers['content-encoding'], undefined);
  assert.equal(range.body.toString(), script.subarray(0, 10).toString());
  const etag = String((await get(`${site.base}/app.3f9a2c1b.js`)).headers.etag);
  const notModified = await withEncoding(`${site.base}/app.3f9a2c1b.js`, 'br', { 'If-None-Match': etag });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  const events = await withEncoding(`${site.base}/events.php`, 'br', { Accept: 'text/event-stream' });
  assert.equal(events.headers['content-encoding'], undefined);
  assert.equal(events.body.toString(), 'data: x\n\n'.repeat(200));
});

test('a precompressed sibling is sent in place of the file, to the clients that accept it', async () => {
  const br = await withEncoding(`${site.base}/app.css`, 'br, gzip');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers['content-type'], 'text/css; charset=utf-8');
  assert.deepEqual(br.body, brotliCompressSync(css, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }), 'the .br file itself');
  const gz = await withEncoding(`${site.base}/app.css`, 'gzip');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(gz.body, gzipSync(css, { level: 9 }));
  const none = await withEncoding(`${site.base}/app.css`, 'identity');
  assert.deepEqual(none.body, css);
  assert.ok(existsSync(path.join(root, 'app.css.br')));
});

test('a streamed PHP response is compressed part by part: the first part arrives before the script goes on', async () => {
  const signal = path.join(tmp, `signal-${process.pid}`);
  const text = await new Promise<string>((resolve, reject) => {
    httpRequest(`${site.base}/parts.php?signal=${encodeURIComponent(signal)}`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      assert.equal(res.headers['content-encoding'], 'gzip');
      let out = '';
      const gunzip = createGunzip();
      res.pipe(gunzip);
      gunzip.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('first part') && !existsSync(signal)) writeFileSync(signal, '');
      });
      gunzip.on('end', () => resolve(out));
      gunzip.on('error', reject);
    }).on('error', reject).end();
  });
  assert.equal(text, 'first part\n'.repeat(100) + 'second part\n');
});

test('STATIC_CACHE_TTL: Cache-Control and Expires on static files, per extension, hashed names immutable; not on PHP', async () => {
  const cssReply = await get(`${site.base}/app.css`);
  assert.equal(cssReply.headers['cache-control'], 'public, max-age=3600');
  const expires = Date.parse(String(cssReply.headers.expires));
  const date = Date.now();
  assert.ok(Math.abs(expires - date - 3600_000) < 5000, `Expires ${String(cssReply.headers.expires)}`);
  assert.equal((await get(`${site.base}/photo.png`)).headers['cache-control'], 'public, max-age=604800');
  assert.equal((await get(`${site.base}/tiny.txt`)).headers['cache-control'], undefined, 'txt=off');
  assert.equal((await get(`${site.base}/app.3f9a2c1b.js`)).headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal((await get(`${site.base}/big.php`)).headers['cache-control'], undefined);
  assert.equal((await get(`${plain.base}/app.css`)).headers['cache-control'], undefined, 'off by default');
  assert.ok(isHashedName('/assets/index-BQk3f9a2.js'));
  assert.ok(isHashedName('/app.3f9a2c1b.css'));
  assert.ok(!isHashedName('/my-component.js'));
  assert.ok(!isHashedName('/jquery-3.7.1.min.js'));
});

test('ERROR_PAGES_DIR: the site\'s pages for the server\'s errors and for empty PHP errors, to clients that accept HTML', async () => {
  const html = { Accept: 'text/html,application/xhtml+xml' };
  const missing = await get(`${site.base}/no-such-file.txt`, { headers: html });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(missing.body.toString(), '<h1>Not here</h1>\n');
  const empty = await get(`${site.base}/empty-error.php`, { headers: html });
  assert.equal(empty.status, 500);
  assert.equal(empty.body.toString(), '<h1>Our fault</h1>\n', 'the 5xx page');
  const own = await get(`${site.base}/own-error.php`, { headers: html });
  assert.equal(own.body.toString(), "the script's own page");
  const api = await get(`${site.base}/no-such-file.txt`, { headers: { Accept: 'application/json' } });
  assert.equal(api.body.toString(), '404 Not Found\n', 'not to a client that does not accept HTML');
  assert.equal((await get(`${plain.base}/no-such-file.txt`, { headers: html })).body.toString(), '404 Not Found\n');
  const compressed = await get(`${site.base}/no-such-file.txt`, { headers: { ...html, 'Accept-Encoding': 'br' } });
  assert.equal(compressed.body.toString(), '<h1>Not here</h1>\n', 'small: sent as it is');
});
