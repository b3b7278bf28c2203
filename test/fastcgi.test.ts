// FastCGI, as php-fpm serves it: Debian's cgi-fcgi and nginx (fastcgi_pass, over a Unix socket and
// over TCP, with fastcgi_keep_conn and without) in front of FASTCGI_LISTEN, and raw records.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { hasNginx, startNginx as startNginxWith } from './helpers/nginx.js';
import { get, startServer, type Running } from './helpers/server.js';
import { startCli } from './helpers/cli.js';

const root = path.join(FIXTURES, 'site');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-fastcgi-'));
const sock = path.join(dir, 'php.sock');
chmodSync(dir, 0o755); // nginx's workers (nobody) reach the socket through it
let engine: Engine;
let site: Running;
let fcgiPort = 0;

before(async () => {
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  // nginx's workers run as nobody when it starts as root: the socket lets everyone in
  site = await startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: `127.0.0.1:0,unix:${sock}`, FASTCGI_SOCKET_MODE: '0666' });
  const tcp = site.addresses.find((a) => 'port' in a && a.port !== site.port);
  fcgiPort = tcp && 'port' in tcp ? tcp.port : 0;
});
after(async () => {
  await site.close();
  await engine.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** cgi-fcgi (Debian's libfcgi-bin) with these CGI variables and `stdin`: the raw CGI answer. */
async function cgiFcgi(vars: Record<string, string>, stdin = '', connect = `127.0.0.1:${fcgiPort}`): Promise<string> {
  const child = execFile('cgi-fcgi', ['-bind', '-connect', connect], { env: { PATH: process.env.PATH, ...vars } });
  child.stdin!.end(stdin);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  await new Promise((resolve) => child.on('close', resolve));
  return out;
}

test('cgi-fcgi: the script SCRIPT_FILENAME names, with $_SERVER from the CGI variables; 404 and 403 as php-fpm answers', async () => {
  const ok = await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'info.php'), SCRIPT_NAME: '/info.php', REQUEST_METHOD: 'GET',
    REQUEST_URI: '/info.php/extra?a=1', QUERY_STRING: 'a=1', PATH_INFO: '/extra', DOCUMENT_ROOT: root, HTTP_HOST: 'example.test',
    REMOTE_ADDR: '10.1.2.3', SERVER_PORT: '8443', HTTPS: 'on', SERVER_PROTOCOL: 'HTTP/1.1' });
  assert.match(ok, /^Status: 200 OK\r\n/);
  const info = JSON.parse(ok.slice(ok.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  assert.deepEqual({ ...info, body_sha1: undefined }, {
    REQUEST_METHOD: 'GET', REQUEST_URI: '/info.php/extra?a=1', QUERY_STRING: 'a=1', SCRIPT_NAME: '/info.php',
    SCRIPT_FILENAME: path.join(root, 'info.php'), PATH_INFO: '/extra', PHP_SELF: '/info.php/extra', DOCUMENT_ROOT: root,
    CONTENT_LENGTH: '', CONTENT_TYPE: '', HTTPS: 'on', REQUEST_SCHEME: 'https', REMOTE_ADDR: '10.1.2.3', SERVER_PORT: '8443',
    SERVER_NAME: 'example.test', HTTP_HOST: 'example.test', post: [], body_sha1: undefined,
  });
  const form = await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'info.php'), REQUEST_METHOD: 'POST',
    CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: '11' }, 'hello=world');
  assert.deepEqual(JSON.parse(form.slice(form.indexOf('\r\n\r\n') + 4)).post, { hello: 'world' });
  // bytes as the front sent them: a UTF-8 header value and script path are not encoded twice
  const bytes = await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'headers.php'), REQUEST_METHOD: 'GET', HTTP_X_NAME: 'é ü' });
  assert.deepEqual(JSON.parse(bytes.slice(bytes.indexOf('\r\n\r\n') + 4)), { HTTP_X_NAME: 'é ü' });
  assert.equal(await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'missing.php'), REQUEST_METHOD: 'GET' }),
    'Status: 404 Not Found\r\nContent-type: text/html; charset=UTF-8\r\n\r\nFile not found.\n');
  assert.equal(await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'hello.txt'), REQUEST_METHOD: 'GET' }),
    'Status: 403 Forbidden\r\nContent-type: text/html; charset=UTF-8\r\n\r\nAccess denied.\n');
});

test('cgi-fcgi: the CGI head as php-fpm makes it, whichever thread writes it: its reason phrases, the front\'s framing', async () => {
  const answer = (query: string, method = 'GET') => cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'status.php'), REQUEST_METHOD: method, QUERY_STRING: query });
  const head = (status: string, length = '') => new RegExp(`^Status: ${status}\r\nX-Own: yes\r\n${length}Content-type: text/html; charset=UTF-8\r\n` +
    'traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01\r\nX-Request-ID: [0-9a-f]+\r\n\r\n');
  // a whole response, written by the PHP thread: php-fpm's phrase, not Node's "Payload Too Large";
  // no Connection, and no Content-Length the script did not set (nginx frames the body)
  const whole = await answer('code=413');
  assert.match(whole, head('413 Request Entity Too Large'));
  assert.ok(whole.endsWith('\r\n\r\nbody!'), whole);
  // a code PHP has no phrase for is answered by JS: the same head
  const unknown = await answer('code=299');
  assert.match(unknown, head('299 '));
  assert.ok(unknown.endsWith('\r\n\r\nbody!'), unknown);
  // the script's own Content-Length goes to the front, as php-fpm passes it
  assert.match(await answer('code=200&length=5'), head('200 OK', 'Content-Length: 5\r\n'));
  // HEAD: no body
  assert.match(await answer('code=200', 'HEAD'), new RegExp(`${head('200 OK').source}$`));
  // 304: without a Content-Type, as php-fpm sends it
  assert.match(await answer('code=304'), /^Status: 304 Not Modified\r\nX-Own: yes\r\ntraceparent: [^\r]+\r\nX-Request-ID: [^\r]+\r\n\r\n$/);
});

test('cgi-fcgi: bodies across record boundaries, from the PHP thread (up to 1 MiB) and from JS (beyond)', async () => {
  const pattern = createHash('md5').update('x').digest('hex');
  for (const n of [65_000, 65_535, 65_536, 200_000, 1_048_576, 1_048_577]) {
    const out = await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'bytes.php'), REQUEST_METHOD: 'GET', QUERY_STRING: `n=${n}` });
    const at = out.indexOf('\r\n\r\n');
    assert.match(out.slice(0, at), /^Status: 200 OK\r\n/, String(n));
    assert.doesNotMatch(out.slice(0, at), /Content-Length/i, String(n));
    assert.ok(out.slice(at + 4) === pattern.repeat(Math.floor(n / 32) + 1).slice(0, n), `${n}: the body differs`);
  }
});

test('a script deleted is File not found once a second has passed (scripts are looked at once a second)', async () => {
  const file = path.join(dir, 'gone.php');
  writeFileSync(file, '<?php echo "here";');
  const ask = () => cgiFcgi({ SCRIPT_FILENAME: file, REQUEST_METHOD: 'GET' });
  assert.match(await ask(), /^Status: 200 OK\r\n[^]*\r\n\r\nhere$/);
  rmSync(file);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.match(await ask(), /^Status: 404 Not Found\r\n[^]*\r\n\r\nFile not found\.\n$/);
});

/** nginx's location for PHP as php-fpm's users write it (PATH_INFO split off), passing to `pass`; `extra`: more directives in it. */
function phpLocation(pass: string, extra = ''): string {
  return `root ${root};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      try_files $fastcgi_script_name =404;
      set $path_info $fastcgi_path_info;
      fastcgi_param PATH_INFO $path_info;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass ${pass};
      ${extra}
    }`;
}

/** nginx in front, as php-fpm's users configure it: `unix` over the Unix socket with fastcgi_keep_conn, `tcp` over TCP without. */
async function startNginx(): Promise<{ unix: number; tcp: number; stop(): Promise<void> }> {
  const server = (listen: number, pass: string, keepConn: boolean) =>
    `server { listen 127.0.0.1:${listen}; ${phpLocation(pass, `fastcgi_keep_conn ${keepConn ? 'on' : 'off'};`)} }`;
  const nginx = await startNginxWith(dir, 2, ([unix, tcp]) => `
  upstream php_unix { server unix:${sock}; keepalive 4; }
  ${server(unix, 'php_unix', true)}
  ${server(tcp, `127.0.0.1:${fcgiPort}`, false)}`);
  const [unix, tcp] = nginx.ports;
  return { unix, tcp, stop: nginx.stop };
}

test('behind nginx over a Unix socket (fastcgi_keep_conn) and over TCP: the same superglobals, PATH_INFO, uploads, many requests', { skip: !hasNginx && 'needs nginx (nginx-light)' }, async () => {
  const nginx = await startNginx();
  try {
    const seen = async (port: number, url: string, body?: string) => {
      const r = await get(`http://127.0.0.1:${port}${url}`, body === undefined ? { headers: { 'x-custom': 'a b' } }
        : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-custom': 'a b' }, body });
      assert.equal(r.status, 200, `${url}: ${r.body.toString()}`);
      return JSON.parse(r.body.toString()) as Record<string, unknown>;
    };
    for (const [url, body] of [['/info.php/extra/path?a=1&b=%20x', undefined], ['/info.php', 'x=' + 'y'.repeat(200_000)]] as const) {
      const overUnix = await seen(nginx.unix, url, body);
      const overTcp = await seen(nginx.tcp, url, body);
      assert.deepEqual({ ...overUnix, SERVER_PORT: 0 }, { ...overTcp, SERVER_PORT: 0 }, url);
      assert.equal(overUnix.SERVER_PORT, String(nginx.unix));
      assert.equal(overUnix.REMOTE_ADDR, '127.0.0.1');
      assert.equal(overUnix.SCRIPT_FILENAME, path.join(root, 'info.php'));
      if (!body) assert.deepEqual([overUnix.PATH_INFO, overUnix.SCRIPT_NAME, overUnix.QUERY_STRING, overUnix.PHP_SELF], ['/extra/path', '/info.php', 'a=1&b=%20x', '/info.php/extra/path']);
      else assert.deepEqual(overUnix.post, { x: 'y'.repeat(200_000) });
    }
    const headers = await get(`http://127.0.0.1:${nginx.unix}/headers.php`, { headers: { 'x-custom': 'a b' } });
    assert.equal(JSON.parse(headers.body.toString()).HTTP_X_CUSTOM, 'a b');
    // nginx's try_files answers a missing script itself; kept-alive upstream connections serve on
    assert.equal((await get(`http://127.0.0.1:${nginx.unix}/missing.php`)).status, 404);
    for (let i = 0; i < 30; i++) {
      const r = await get(`http://127.0.0.1:${i % 2 ? nginx.unix : nginx.tcp}/hello.txt`);
      assert.equal(r.status, 200);
    }
    for (let i = 0; i < 30; i++) assert.equal((await seen(i % 2 ? nginx.unix : nginx.tcp, `/info.php?n=${i}`)).QUERY_STRING, `n=${i}`);
  } finally {
    await nginx.stop();
  }
});

test('PHP_VALUE and PHP_ADMIN_VALUE from nginx hold for their request only; ini_set() cannot change an admin value', { skip: !hasNginx && 'needs nginx (nginx-light)' }, async () => {
  const ini = 'fastcgi_param PHP_VALUE "precision=7\\nupload_max_filesize=1K\\nerror_reporting=E_ALL & ~E_NOTICE"; fastcgi_param PHP_ADMIN_VALUE "memory_limit=100M";';
  const nginx = await startNginxWith(dir, 2, ([withIni, without]) => `
  upstream php_unix { server unix:${sock}; keepalive 4; }
  server { listen 127.0.0.1:${withIni}; ${phpLocation('php_unix', `fastcgi_keep_conn on; ${ini}`)} }
  server { listen 127.0.0.1:${without}; ${phpLocation('php_unix', 'fastcgi_keep_conn on;')} }`);
  const [withIni, without] = nginx.ports;
  const boundary = 'b0undary';
  const upload = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n${'x'.repeat(2048)}\r\n--${boundary}--\r\n`;
  const seen = async (port: number) => {
    const r = await get(`http://127.0.0.1:${port}/ini.php`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: upload });
    assert.equal(r.status, 200, r.body.toString());
    return JSON.parse(r.body.toString()) as Record<string, unknown>;
  };
  try {
    // alternating on the same kept-alive connections and both PHP threads: nothing carries over
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(await seen(withIni), { precision: '7', upload_max_filesize: '1K', memory_limit: '100M', error_reporting: String(32767 & ~8 & ~2048 & ~8),
        ini_set_precision: '7', ini_set_memory_limit: false, upload_errors: { f: 1 } }); // UPLOAD_ERR_INI_SIZE
      assert.deepEqual(await seen(without), { precision: '14', upload_max_filesize: '2M', memory_limit: '128M', error_reporting: '22527',
        ini_set_precision: '14', ini_set_memory_limit: '128M', upload_errors: { f: 0 } });
    }
  } finally {
    await nginx.stop();
  }
});

/** Sends `bytes` and resolves with what came back once the server closes the connection. */
function untilClosed(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(fcgiPort, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
    s.write(bytes);
    setTimeout(() => s.destroy(new Error('still open after 5 s')), 5000).unref();
  });
}

const record = (type: number, id: number, content: Buffer, version = 1) =>
  Buffer.concat([Buffer.from([version, type, id >> 8, id & 255, content.length >> 8, content.length & 255, 0, 0]), content]);

test('a malformed record closes only its connection; another role gets UNKNOWN_ROLE; GET_VALUES is answered', async () => {
  assert.equal((await untilClosed(record(1, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]), 2))).length, 0, 'version 2');
  assert.equal((await untilClosed(record(5, 7, Buffer.from('never begun')))).length, 0, 'STDIN of a request never begun');
  // an AUTHORIZER: END_REQUEST with FCGI_UNKNOWN_ROLE (3), the connection stays for the next
  const role = await new Promise<Buffer>((resolve) => {
    const s = connect(fcgiPort, '127.0.0.1');
    s.once('data', (d: Buffer) => { s.destroy(); resolve(d); });
    s.write(record(1, 3, Buffer.from([0, 2, 0, 0, 0, 0, 0, 0])));
  });
  assert.deepEqual([...role], [1, 3, 0, 3, 0, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
  const values = await new Promise<Buffer>((resolve) => {
    const s = connect(fcgiPort, '127.0.0.1');
    s.once('data', (d: Buffer) => { s.destroy(); resolve(d); });
    const ask = Buffer.concat([Buffer.from([15, 0]), Buffer.from('FCGI_MPXS_CONNS')]);
    s.write(record(9, 0, ask));
  });
  assert.equal(values[1], 10, 'GET_VALUES_RESULT');
  assert.equal(values.subarray(8).toString('latin1'), '\x0f\x01FCGI_MPXS_CONNS0');
  // and the server serves on
  assert.match(await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'info.php'), REQUEST_METHOD: 'GET' }), /^Status: 200 OK\r\n/);
});

test('over TCP only the clients FASTCGI_ALLOWED_CLIENTS names get in (loopback by default); a bad list stops startup', async () => {
  const strict = await startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: '127.0.0.1:0', FASTCGI_ALLOWED_CLIENTS: '10.9.9.9,::1' });
  try {
    const address = strict.addresses[1];
    const port = 'port' in address ? address.port : 0;
    const begin = Buffer.concat([record(1, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])), record(4, 1, Buffer.alloc(0)), record(5, 1, Buffer.alloc(0))]);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('close', () => resolve(Buffer.concat(got)));
      // closed with our records unread: the kernel may reset the connection instead
      s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(Buffer.concat(got)) : reject(err)));
      s.write(begin);
    });
    assert.equal(answer.length, 0, 'closed without an answer');
  } finally {
    await strict.close();
  }
  await assert.rejects(startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: '127.0.0.1:0', FASTCGI_ALLOWED_CLIENTS: '10.0.0.0/8' }),
    /FASTCGI_ALLOWED_CLIENTS="10\.0\.0\.0\/8" is not valid: expected IP addresses separated by commas, or any/);
});

/** A FastCGI request over a raw socket: each STDOUT record's text and when it came (ms), and the END_REQUEST's app status. */
/** `abortAfterMs`: the client leaves then; `shut`: it shuts its side once the request is sent, and reads on. */
function fcgiRequest(vars: Record<string, string>, stdin = '', abortAfterMs?: number, shut = false): Promise<{ parts: [string, number][]; appStatus: number }> {
  const pairs = Buffer.concat(Object.entries(vars).map(([k, v]) => Buffer.concat([Buffer.from([k.length, v.length]), Buffer.from(k + v)])));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = connect({ port: fcgiPort, host: '127.0.0.1', allowHalfOpen: shut });
    const parts: [string, number][] = [];
    let pending = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 8 && pending.length >= 8 + pending.readUInt16BE(4) + pending[6]) {
        const type = pending[1];
        const content = pending.subarray(8, 8 + pending.readUInt16BE(4));
        pending = pending.subarray(8 + content.length + pending[6]);
        if (type === 6 && content.length) parts.push([content.toString('latin1'), Date.now() - started]);
        if (type === 3) {
          s.destroy();
          resolve({ parts, appStatus: content.readUInt32BE(0) });
        }
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve({ parts, appStatus: -1 }));
    s.write(Buffer.concat([record(1, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])), record(4, 1, pairs), record(4, 1, Buffer.alloc(0)),
      ...(stdin ? [record(5, 1, Buffer.from(stdin))] : []), record(5, 1, Buffer.alloc(0))]));
    if (shut) s.end();
    if (abortAfterMs !== undefined) setTimeout(() => s.destroy(), abortAfterMs);
  });
}

test('a front that shuts its side once its request is sent still gets the answer, as cgi-fcgi does', async () => {
  for (const ms of [0, 200]) {
    const r = await fcgiRequest({ SCRIPT_FILENAME: path.join(root, 'slow.php'), REQUEST_METHOD: 'GET', QUERY_STRING: `ms=${ms}` }, '', undefined, true);
    assert.equal(r.appStatus, 0, `${ms} ms`);
    assert.match(r.parts.map(([t]) => t).join(''), /^Status: 200 OK\r\n[^]*\r\n\r\nslept$/, `${ms} ms`);
  }
});

test('flush() as STDOUT records as they come; fastcgi_finish_request() ends the request at once; a front that leaves stops the script', async () => {
  const bridge = path.join(FIXTURES, 'bridge');
  const pieces = await fcgiRequest({ SCRIPT_FILENAME: path.join(root, 'pieces.php'), REQUEST_METHOD: 'GET' });
  const body = pieces.parts.map(([text]) => text).join('');
  assert.equal(body.slice(body.indexOf('\r\n\r\n') + 4), 'part 1\npart 2\npart 3\n');
  assert.ok(pieces.parts.at(-1)![1] - pieces.parts[0][1] >= 500, `parts at ${pieces.parts.map(([, at]) => at).join(', ')} ms`);

  const mark = path.join(dir, 'finished');
  const finished = await fcgiRequest({ SCRIPT_FILENAME: path.join(bridge, 'finish.php'), REQUEST_METHOD: 'GET',
    QUERY_STRING: `fn=fastcgi_finish_request&ms=800&mark=${encodeURIComponent(mark)}` });
  assert.equal(finished.appStatus, 0);
  assert.match(finished.parts.map(([t]) => t).join(''), /X-Before: yes\r\n[\s\S]*\r\n\r\nanswered$/);
  assert.equal(existsSync(mark), false, 'answered before the script went on to its end');
  for (let i = 0; i < 100 && !existsSync(mark); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(readFileSync(mark, 'utf8'), '[true,false]');

  const left = path.join(dir, 'left');
  await fcgiRequest({ SCRIPT_FILENAME: path.join(root, 'slow.php'), REQUEST_METHOD: 'GET', QUERY_STRING: `ms=10000&mark=${encodeURIComponent(left)}` }, '', 300);
  for (let i = 0; i < 100 && !existsSync(left); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(readFileSync(left, 'utf8'), 'status=1', 'stopped as aborted, long before its 10 s');
});

test('FASTCGI_SOCKET_MODE sets the socket file\'s mode, apart from LISTEN_SOCKET_MODE; a bad one stops startup naming it', async () => {
  const own = path.join(dir, 'own.sock');
  const other = await startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: `unix:${own}`, FASTCGI_SOCKET_MODE: '0600' });
  try {
    assert.equal(statSync(own).mode & 0o777, 0o600);
    assert.equal(statSync(sock).mode & 0o777, 0o666, 'the file set up with 0666 before');
  } finally {
    await other.close();
  }
  assert.equal(existsSync(own), false, 'removed as the server closed');
  await assert.rejects(startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: `unix:${own}`, FASTCGI_SOCKET_MODE: '0999' }),
    /FASTCGI_SOCKET_MODE="0999" is not valid: expected an octal mode from 000 to 777/);
  await assert.rejects(startServer(engine, { DOCUMENT_ROOT: root, FASTCGI_LISTEN: '127.0.0.1:0', FASTCGI_SOCKET_MODE: '0600' }),
    /FASTCGI_SOCKET_MODE applies to Unix sockets, and FASTCGI_LISTEN has no unix: address/);
});

test('LISTEN_ADDR=off: FastCGI alone, as php-fpm serves', async () => {
  const alone = path.join(dir, 'alone.sock');
  const cli = await startCli(['--listen', 'off'], { DOCUMENT_ROOT: root, FASTCGI_LISTEN: `unix:${alone}`, HTTP_THREADS: '2', PHP_WORKERS: '1' });
  try {
    assert.deepEqual(cli.listen, [`fastcgi://unix:${alone}`]);
    assert.match(await cgiFcgi({ SCRIPT_FILENAME: path.join(root, 'index.php'), REQUEST_METHOD: 'GET' }, '', alone), /^Status: 200 OK\r\n/);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('worker mode: the worker script the front names serves its requests, booted once', async () => {
  const sock = path.join(dir, 'worker.sock');
  const workerRoot = path.join(FIXTURES, 'worker');
  const cli = await startCli(['--listen', 'off', '--worker', 'index.php', '--workers', '1', '--worker-threads', '1'],
    { DOCUMENT_ROOT: workerRoot, FASTCGI_LISTEN: `unix:${sock}` });
  try {
    const state = async () => {
      const out = await cgiFcgi({ SCRIPT_FILENAME: path.join(workerRoot, 'index.php'), SCRIPT_NAME: '/index.php', REQUEST_METHOD: 'GET',
        REQUEST_URI: '/state?n=1', QUERY_STRING: 'n=1' }, '', sock);
      assert.match(out, /^Status: 200 OK\r\n/, out);
      return JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as { boot: string; served: number; get: unknown; server: Record<string, string> };
    };
    const first = await state();
    const second = await state();
    assert.equal(second.boot, first.boot, 'one boot serves both');
    assert.deepEqual([first.served, second.served], [1, 2]);
    assert.equal(second.server.TOKIO_WORKER, '1');
    assert.deepEqual(second.get, { n: '1' });
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('PROCESSES=2: FastCGI connections go to the process with a free PHP thread', async () => {
  const shared = path.join(dir, 'shared.sock');
  const cli = await startCli(['--listen', 'off'], { DOCUMENT_ROOT: root, FASTCGI_LISTEN: `unix:${shared}`, PROCESSES: '2', PHP_WORKERS: '2', HTTP_THREADS: '1' });
  try {
    const pid = async () => {
      const child = execFile('cgi-fcgi', ['-bind', '-connect', shared], { env: { PATH: process.env.PATH, SCRIPT_FILENAME: path.join(root, 'pid.php'), QUERY_STRING: 'ms=400', REQUEST_METHOD: 'GET' } });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
      await new Promise((resolve) => child.on('close', resolve));
      return out.slice(out.indexOf('\r\n\r\n') + 4);
    };
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([pid(), pid()]);
      assert.match(a, /^\d+$/);
      assert.notEqual(a, b, 'two requests at once, each on a process with a free thread');
    }
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

// Debian's php-fpm (php-fpm8.2 on Debian 12), the reference
const phpFpm = readdirSync('/usr/sbin').find((f) => /^php-fpm\d+\.\d+$/.test(f));

test('behind the same nginx, PHP sees the superglobals php-fpm shows', { skip: (!hasNginx || !phpFpm) && 'needs nginx and php-fpm' }, async () => {
  const fpmSock = path.join(dir, 'fpm.sock');
  writeFileSync(path.join(dir, 'fpm.conf'), `[global]
pid = ${dir}/fpm.pid
error_log = ${dir}/fpm.log
daemonize = no
[www]
user = nobody
group = ${nobodyGroup()}
listen = ${fpmSock}
listen.mode = 0666
pm = static
pm.max_children = 1
`);
  const fpm = spawn(`/usr/sbin/${phpFpm}`, ['-F', '-y', path.join(dir, 'fpm.conf'), '-n'], { stdio: 'inherit' });
  // a rewrite, as apps' nginx configurations have: REQUEST_URI stays the client's, QUERY_STRING is the rewritten one
  const rewrite = 'rewrite ^/user/(\\d+)$ /query.php?id=$1 last;';
  const nginx = await startNginxWith(dir, 2, ([tokio, php]) => `
  server { listen 127.0.0.1:${tokio}; ${rewrite} ${phpLocation(`unix:${sock}`)} }
  server { listen 127.0.0.1:${php}; ${rewrite} ${phpLocation(`unix:${fpmSock}`)} }`);
  try {
    for (let i = 0; i < 100 && !existsSync(fpmSock); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const [tokio, php] = nginx.ports;
    const seen = async (port: number, url: string, body?: string) => {
      const r = await get(`http://127.0.0.1:${port}${url}`, body === undefined ? { headers: { 'x-custom': 'a b', host: 'example.test', cookie: 'a=1; b=x%20y', authorization: `Basic ${Buffer.from('ann:p:w').toString('base64')}` } }
        : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'example.test' }, body });
      assert.equal(r.status, 200, `${url}: ${r.body.toString()}`);
      return JSON.parse(r.body.toString()) as Record<string, unknown>;
    };
    for (const [url, body] of [['/info.php/extra/path?a=1&b=%20x', undefined], ['/info.php?x', 'k=v&l[]=1'], ['/headers.php', undefined], ['/credentials.php', undefined],
      ['/user/5?x=1', undefined]] as const) {
      const ours = await seen(tokio, url, body);
      const theirs = await seen(php, url, body);
      // the port nginx listens on for each is its own
      assert.deepEqual({ ...ours, SERVER_PORT: 0 }, { ...theirs, SERVER_PORT: 0 }, url);
      // getallheaders() in php-fpm's order too (its table of params lists the last first)
      assert.equal(JSON.stringify(ours.headers), JSON.stringify(theirs.headers), url);
    }
  } finally {
    await nginx.stop();
    fpm.kill('SIGQUIT');
    await new Promise((resolve) => fpm.once('exit', resolve));
  }
});

function nobodyGroup(): string {
  return execFileSync('id', ['-gn', 'nobody']).toString().trim();
}
