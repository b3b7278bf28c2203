// What PHP sees of a request: superglobals, uploads, the body, sessions — as php-fpm shows them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type PhpLogEntry } from '../src/index.js';
import { FIXTURES, header, multipart, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');
// npm test runs this file once more with TOKIO_TEST_EXECUTOR=eval: the executors share it
const executor = process.env.TOKIO_TEST_EXECUTOR === 'eval' ? 'eval' : 'ext';
const sessions = mkdtempSync(path.join(os.tmpdir(), 'tokio-sess-'));
const logs: PhpLogEntry[] = [];
let engine: Engine;

before(async () => {
  engine = await Engine.start({
    workers: 3,
    ini: { upload_max_filesize: '1M', max_file_uploads: 5, 'session.save_path': sessions },
    env: { TOKIO_TEST_ENV: 'from-env', PATH: '/usr/bin' },
    logger: (e) => logs.push(e),
    executor,
  });
});
after(async () => {
  await engine.shutdown();
  rmSync(sessions, { recursive: true, force: true });
});

const json = (b: Buffer) => JSON.parse(b.toString('utf8'));

test('boots PHP 8.4 ZTS with OPcache under an allow-listed SAPI name', () => {
  assert.match(engine.info.phpVersion, /^8\.4\./);
  assert.equal(engine.info.zts, true);
  assert.equal(engine.info.opcache, true);
  assert.equal(engine.info.sapiName, 'fpm-fcgi');
  assert.equal(engine.info.workers, 3);
});

test('$_SERVER holds the CGI variables nginx + php-fpm give, and every header as HTTP_*', async () => {
  const res = await engine.execute(phpRequest(root, '/server.php/extra/path?x=1&y[]=2', {
    method: 'POST',
    headers: [
      'Host', 'example.test:8080', 'X-Foo-Bar', 'baz', 'X_Under', 'dropped like nginx does',
      'Authorization', 'Basic ' + Buffer.from('user:pa:ss').toString('base64'),
      'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '3',
      'X-Dup', 'one', 'x-dup', 'two', 'Cookie', 'a=1', 'Cookie', 'b=2',
    ],
    body: Buffer.from('p=1'),
    https: true,
    requestId: 'req-42',
    requestTime: 1700000000123,
  }));
  assert.equal(res.status, 200);
  const out = json(res.body);
  const s = out.server;
  const expected: Record<string, unknown> = {
    REQUEST_METHOD: 'POST',
    REQUEST_URI: '/server.php/extra/path?x=1&y[]=2',
    QUERY_STRING: 'x=1&y[]=2',
    SCRIPT_NAME: '/server.php',
    SCRIPT_FILENAME: path.join(root, 'server.php'),
    PHP_SELF: '/server.php/extra/path',
    PATH_INFO: '/extra/path',
    DOCUMENT_ROOT: root,
    DOCUMENT_URI: '/server.php',
    SERVER_NAME: 'example.test',
    SERVER_PORT: '8080',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_SCHEME: 'https',
    HTTPS: 'on',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '54321',
    CONTENT_TYPE: 'application/x-www-form-urlencoded',
    CONTENT_LENGTH: '3',
    REQUEST_TIME: 1700000000,
    REQUEST_TIME_FLOAT: 1700000000.123,
    PHP_AUTH_USER: 'user',
    PHP_AUTH_PW: 'pa:ss',
    REMOTE_USER: 'user',
    REDIRECT_STATUS: '200',
    FCGI_ROLE: 'RESPONDER',
    REQUEST_ID: 'req-42',
    HTTP_HOST: 'example.test:8080',
    HTTP_X_FOO_BAR: 'baz',
    HTTP_AUTHORIZATION: 'Basic ' + Buffer.from('user:pa:ss').toString('base64'),
    HTTP_CONTENT_TYPE: 'application/x-www-form-urlencoded',
    HTTP_CONTENT_LENGTH: '3',
    HTTP_X_DUP: 'one, two',
    HTTP_COOKIE: 'a=1; b=2',
    TOKIO_TEST_ENV: 'from-env',
  };
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k], v, `$_SERVER['${k}']`);
  assert.match(s.SERVER_SOFTWARE, /^tokio-php\/\d+\.\d+\.\d+$/);
  assert.equal(s.HTTP_X_UNDER, undefined);
  assert.equal(Object.keys(s).some((k) => k.includes('UNDER')), false);
  assert.equal(out.sapi, 'fpm-fcgi');
  assert.equal(out.cwd, root, 'php-fpm runs a script in its own directory');
  // the filter extension keeps its copy of $_SERVER only when PHP registers it natively
  assert.equal(out.filter_input, executor === 'ext' ? 'POST' : null);
  // as php-fpm: the filter copies the request's variables, not the environment nor REQUEST_TIME
  // (both added to $_SERVER apart), and keeps them as they came
  assert.deepEqual(out.filter_more, executor === 'ext' ? ['baz', null, 'baz', false] : [null, null, null, false]);
  // in php-fpm's order behind nginx: backwards (its table of params lists the last first), a
  // repeated name where it first came
  assert.deepEqual(Object.entries(out.headers), Object.entries({
    Cookie: 'a=1; b=2', 'X-Dup': 'one, two', 'Content-Length': '3', 'Content-Type': 'application/x-www-form-urlencoded',
    Authorization: s.HTTP_AUTHORIZATION, 'X-Foo-Bar': 'baz', Host: 'example.test:8080',
  }));
  assert.deepEqual(out.apache, out.headers);
});

test('without a body, TLS or path info the CGI variables are empty as with nginx', async () => {
  const out = json((await engine.execute(phpRequest(root, '/server.php', { headers: ['Host', 'h', 'Accept', '*/*'] }))).body);
  const s = out.server;
  // nginx passes CONTENT_LENGTH and CONTENT_TYPE, empty, and php-fpm's getallheaders() shows them last
  assert.deepEqual(Object.entries(out.headers), Object.entries({ Accept: '*/*', Host: 'h', 'Content-Length': '', 'Content-Type': '' }));
  assert.equal(s.QUERY_STRING, '');
  assert.equal(s.CONTENT_TYPE, '');
  assert.equal(s.CONTENT_LENGTH, '');
  assert.equal(s.PATH_INFO, '');
  assert.equal(s.PHP_SELF, '/server.php');
  assert.equal(s.REQUEST_SCHEME, 'http');
  assert.equal(s.HTTPS, undefined);
  assert.equal(s.PHP_AUTH_USER, undefined);
  assert.equal(s.REMOTE_USER, '');
});

test('empty fields cross the boundary intact: no headers, no remote port, an empty last $_SERVER value', async () => {
  const res = await engine.execute({
    method: 'GET', uri: '/server.php', scriptFilename: path.join(root, 'server.php'), scriptName: '/server.php',
    documentRoot: root, headers: [], serverVars: { FIRST: 'x', EMPTY_LAST: '' },
  });
  const s = json(res.body).server;
  assert.deepEqual([s.REQUEST_METHOD, s.SCRIPT_NAME, s.REMOTE_PORT, s.REMOTE_ADDR, s.FIRST, s.EMPTY_LAST, s.HTTP_HOST],
    ['GET', '/server.php', '', '', 'x', '', undefined]);
});

test('$_GET, $_POST, $_COOKIE and $_REQUEST are parsed by PHP itself', async () => {
  const res = await engine.execute(phpRequest(root, '/vars.php?a=1&b[]=x&b[]=y&c[k][j]=deep&sp=a+b%26c&dot.ted=1', {
    method: 'POST',
    headers: ['Host', 'h', 'Content-Type', 'application/x-www-form-urlencoded', 'Cookie', 'sid=abc; arr[one]=1; enc=%3D%20'],
    body: Buffer.from('p=1&q[a]=b&q[c][]=d&a=from-post'),
  }));
  assert.deepEqual(json(res.body), {
    get: { a: '1', b: ['x', 'y'], c: { k: { j: 'deep' } }, sp: 'a b&c', dot_ted: '1' },
    post: { p: '1', q: { a: 'b', c: ['d'] }, a: 'from-post' },
    cookie: { sid: 'abc', arr: { one: '1' }, enc: '= ' },
    request: { a: 'from-post', b: ['x', 'y'], c: { k: { j: 'deep' } }, sp: 'a b&c', dot_ted: '1', p: '1', q: { a: 'b', c: ['d'] } },
    files: [],
    input_len: 31,
  });
});

test('php://input is binary-safe at any size and can be read twice', async () => {
  const body = randomBytes(5 * 1024 * 1024 + 7);
  const res = await engine.execute(phpRequest(root, '/input.php', {
    method: 'PUT', headers: ['Host', 'h', 'Content-Type', 'application/octet-stream'], body,
  }));
  assert.equal(res.body.toString(), `${body.length} ${createHash('sha1').update(body).digest('hex')} same`);
});

test('uploads: several files, array fields, error codes, move_uploaded_file and cleanup', async () => {
  const dest = mkdtempSync(path.join(os.tmpdir(), 'tokio-up-'));
  const a = randomBytes(1000), b = randomBytes(200_000), c = Buffer.from('third\0file');
  const big = randomBytes(1024 * 1024 + 1); // over upload_max_filesize=1M
  const form = multipart([
    { name: 'title', value: 'holiday' },
    { name: 'single', filename: 'a.bin', data: a },
    { name: 'many[]', filename: 'b.jpg', type: 'image/jpeg', data: b },
    { name: 'many[]', filename: 'c.txt', type: 'text/plain', data: c },
    { name: 'toobig', filename: 'big.bin', data: big },
    { name: 'empty', filename: '', data: Buffer.alloc(0) },
  ]);
  try {
    const res = await engine.execute(phpRequest(root, `/upload.php?dest=${encodeURIComponent(dest)}`, {
      method: 'POST', headers: ['Host', 'h', 'Content-Type', form.type], body: form.body,
    }));
    assert.equal(res.status, 200);
    const out = json(res.body);
    const sha = (x: Buffer) => createHash('sha1').update(x).digest('hex');
    assert.deepEqual(out.post, { title: 'holiday' });
    const f = out.files;
    assert.deepEqual([f.single.name, f.single.type, f.single.size, f.single.error], ['a.bin', 'application/octet-stream', 1000, 0]);
    assert.deepEqual(f.many.name, ['b.jpg', 'c.txt']);
    assert.deepEqual(f.many.type, ['image/jpeg', 'text/plain']);
    assert.deepEqual(f.many.size, [200_000, 10]);
    assert.deepEqual(f.many.error, [0, 0]);
    assert.deepEqual([f.toobig.error, f.toobig.size, f.toobig.tmp_name], [1, 0, ''], 'UPLOAD_ERR_INI_SIZE');
    assert.deepEqual([f.empty.error, f.empty.tmp_name], [4, ''], 'UPLOAD_ERR_NO_FILE');
    assert.deepEqual(out.is_uploaded, [true, true, true]);
    assert.equal(out.is_uploaded_fake, false);
    assert.deepEqual(out.moved, [sha(a), sha(b), sha(c)]);
    assert.deepEqual(readFileSync(path.join(dest, 'many-1')), c);
    // a file the script left where PHP put it is gone once the request is over
    const res2 = await engine.execute(phpRequest(root, '/upload.php', {
      method: 'POST', headers: ['Host', 'h', 'Content-Type', form.type], body: form.body,
    }));
    const tmp = json(res2.body).files.single.tmp_name;
    assert.ok(tmp.length > 0);
    assert.equal(existsSync(tmp), false);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

test('max_file_uploads and post_max_size are honoured', async () => {
  const six = multipart([1, 2, 3, 4, 5, 6].map((i) => ({ name: `f${i}`, filename: `${i}.txt`, data: Buffer.from(String(i)) })));
  const res = await engine.execute(phpRequest(root, '/vars.php', {
    method: 'POST', headers: ['Host', 'h', 'Content-Type', six.type], body: six.body,
  }));
  assert.deepEqual(Object.keys(json(res.body).files), ['f1', 'f2', 'f3', 'f4', 'f5'], 'max_file_uploads=5');

  logs.length = 0;
  const huge = Buffer.alloc(9 * 1024 * 1024, 'a'); // over post_max_size=8M
  const res2 = await engine.execute(phpRequest(root, '/vars.php', {
    method: 'POST', headers: ['Host', 'h', 'Content-Type', 'application/x-www-form-urlencoded'],
    body: Buffer.concat([Buffer.from('x='), huge]), requestId: 'too-big',
  }));
  assert.deepEqual(json(res2.body).post, []);
  assert.ok(logs.some((l) => /POST Content-Length of \d+ bytes exceeds the limit of 8388608 bytes/.test(l.message) && l.requestId === 'too-big'),
    'PHP warns about post_max_size in the log');
});

test('sessions: session_start() with the files handler keeps data across requests by cookie', async () => {
  const first = await engine.execute(phpRequest(root, '/session.php'));
  const cookie = header(first, 'Set-Cookie');
  assert.match(cookie ?? '', /^PHPSESSID=[a-z0-9]+; path=\/$/);
  const id = cookie!.split(';')[0].split('=')[1];
  assert.deepEqual(json(first.body), { id, visits: 1, name: 'PHPSESSID' });
  assert.ok(existsSync(path.join(sessions, `sess_${id}`)));
  const second = await engine.execute(phpRequest(root, '/session.php', { headers: ['Host', 'h', 'Cookie', `PHPSESSID=${id}`] }));
  assert.deepEqual(json(second.body), { id, visits: 2, name: 'PHPSESSID' });
  assert.equal(header(second, 'Set-Cookie'), undefined);
});

test('HEAD runs the script but carries no body', async () => {
  const res = await engine.execute(phpRequest(root, '/head.php', { method: 'HEAD' }));
  assert.equal(res.status, 200);
  assert.equal(header(res, 'X-Method'), 'HEAD');
  assert.equal(res.body.length, 0);
});
