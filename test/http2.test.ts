// HTTP/2 with real clients: Node's http2 client and Debian's curl, h2c with prior knowledge on the
// plain port and h2 by ALPN over TLS, against the same scripts as HTTP/1.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { request as httpRequest } from 'node:http';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect as tcpConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { startCli } from './helpers/cli.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-http2-'));
const cert = path.join(tmp, 'cert.pem');
const key = path.join(tmp, 'key.pem');
let engine: Engine;
let site: Running;
let tls: Running;

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
    { stdio: 'ignore' });
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root });
  tls = await startServer(engine, { DOCUMENT_ROOT: root, TLS_CERT: cert, TLS_KEY: key });
});
after(async () => {
  await site.close();
  await tls.close();
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

interface H2Reply {
  status: number;
  headers: Record<string, unknown>;
  body: Buffer;
  /** when each DATA chunk arrived, ms after the request */
  arrivals: number[];
}

function h2(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    const arrivals: number[] = [];
    let status = 0;
    let responseHeaders: Record<string, unknown> = {};
    stream.on('response', (h) => { status = Number(h[':status']); responseHeaders = h; });
    stream.on('data', (c: Buffer) => { chunks.push(c); arrivals.push(Date.now() - started); });
    stream.on('end', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), arrivals }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

// the servers run in this process: a client must not block its event loop
const curl = async (...args: string[]) => (await promisify(execFile)('curl', ['-s', ...args])).stdout;
const plain = () => connect(`http://127.0.0.1:${site.port}`);
const secure = () => connect(`https://127.0.0.1:${tls.port}`, { ca: readFileSync(cert), servername: 'localhost', checkServerIdentity: () => undefined });

test('h2c with prior knowledge: the same superglobals as over HTTP/1.1, SERVER_PROTOCOL HTTP/2.0', async () => {
  const session = plain();
  try {
    const headers = { 'x-custom': 'a b', accept: 'text/plain' };
    for (const script of ['/info.php/extra/path?a=1&b=%20x', '/headers.php?q']) {
      const one = await get(`${site.base}${script}`, { headers: { ...headers, host: `127.0.0.1:${site.port}` } });
      const two = await h2(session, { ':path': script, ...headers });
      assert.equal(two.status, 200, script);
      // Connection is HTTP/1's own: HTTP/2 has none (RFC 9113 8.2.2)
      const { HTTP_CONNECTION, ...overHttp1 } = JSON.parse(one.body.toString()) as Record<string, unknown>;
      assert.deepEqual(JSON.parse(two.body.toString()), overHttp1, `${script} (${String(HTTP_CONNECTION)})`);
    }
    assert.equal((await h2(session, { ':path': '/protocol.php' })).body.toString(), 'HTTP/2.0 http off\n');
  } finally {
    session.close();
  }
  // Debian's curl, h2c with prior knowledge
  assert.equal(await curl('--http2-prior-knowledge', '-w', '%{http_version}', `${site.base}/protocol.php`), 'HTTP/2.0 http off\n2');
});

test('over TLS, a client offering h2 gets HTTP/2 and one offering only HTTP/1.1 keeps it, on the same port', async () => {
  const session = secure();
  try {
    const r = await h2(session, { ':path': '/protocol.php' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'HTTP/2.0 https on\n');
    assert.equal(r.headers.server, 'tokio-php');
  } finally {
    session.close();
  }
  const one = await new Promise<string>((resolve, reject) => {
    httpsGet(`${tls.base}/protocol.php`, { ca: readFileSync(cert), checkServerIdentity: () => undefined }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.httpVersion} ${body}`));
    }).on('error', reject);
  });
  assert.equal(one, '1.1 HTTP/1.1 https on\n');
  const overTls = (flag: string) => curl('--cacert', cert, '--resolve', `localhost:${tls.port}:127.0.0.1`, flag,
    '-w', '%{http_version}', `https://localhost:${tls.port}/protocol.php`);
  assert.equal(await overTls('--http2'), 'HTTP/2.0 https on\n2');
  assert.equal(await overTls('--http1.1'), 'HTTP/1.1 https on\n1.1');
});

test('an upload over HTTP/2 reaches PHP whole; cookies in several fields are one HTTP_COOKIE', async () => {
  const session = plain();
  try {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'u');
    const r = await h2(session, { ':method': 'POST', ':path': '/upload.php', 'content-length': body.length }, body);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { input_len: body.length, input_sha1: createHash('sha1').update(body).digest('hex') });
    // RFC 9113 8.2.3: a client may split the cookie header into one field per cookie
    const cookies = await h2(session, { ':path': '/headers.php', cookie: ['a=1', 'b=2', 'c=3'] });
    assert.equal(JSON.parse(cookies.body.toString()).HTTP_COOKIE, 'a=1; b=2; c=3');
  } finally {
    session.close();
  }
});

test('a streamed response arrives in pieces as DATA frames; a reset stream stops its script', async () => {
  const session = plain();
  const mark = path.join(tmp, 'reset');
  try {
    const r = await h2(session, { ':path': '/pieces.php' });
    assert.equal(r.body.toString(), 'part 1\npart 2\npart 3\n');
    assert.ok(r.arrivals.length >= 3 && r.arrivals.at(-1)! - r.arrivals[0] >= 500, `arrivals ${r.arrivals.join(', ')}`);

    const stream = session.request({ ':path': `/slow.php?ms=10000&mark=${encodeURIComponent(mark)}` });
    stream.on('error', () => {});
    await sleep(300);
    stream.close(constants.NGHTTP2_CANCEL);
    for (let i = 0; i < 100 && !existsSync(mark); i++) await sleep(20);
    assert.equal(readFileSync(mark, 'utf8'), 'status=1', 'stopped as aborted, long before its 10 s');
    assert.equal((await h2(session, { ':path': '/protocol.php' })).status, 200, 'the connection serves on');
  } finally {
    session.close();
  }
});

test('many streams on one connection go through the admission queue: some 503, none lost', async () => {
  const small = await startServer(engine, { DOCUMENT_ROOT: root, QUEUE_CAPACITY: '2' });
  const session = connect(`http://127.0.0.1:${small.port}`);
  try {
    const replies = await Promise.all(Array.from({ length: 20 }, () => h2(session, { ':path': '/slow.php?ms=300' })));
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 503);
    assert.equal(ok.length + refused.length, 20);
    assert.equal(ok.length, 4, '2 running + 2 queued');
    for (const r of ok) assert.equal(r.body.toString(), 'slept');
    for (const r of refused) assert.equal(r.headers['retry-after'], '1');
  } finally {
    session.close();
    await small.close();
  }
});

test('a rapid-reset flood on one connection leaves the server serving others', async () => {
  const flood = plain();
  flood.on('error', () => {});
  let opened = 0;
  try {
    // open and cancel streams as fast as the client can (CVE-2023-44487's pattern)
    for (let i = 0; i < 5000 && !flood.destroyed && !flood.closed; i++) {
      const s = flood.request({ ':path': '/slow.php?ms=1000' });
      s.on('error', () => {});
      s.close(constants.NGHTTP2_CANCEL);
      opened++;
      if (i % 200 === 0) await sleep(0);
    }
  } catch {
    // the server closed the connection under the flood: what nginx does too
  }
  assert.ok(opened > 0);
  const other = plain();
  try {
    const r = await h2(other, { ':path': '/protocol.php' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'HTTP/2.0 http off\n');
  } finally {
    other.close();
    flood.destroy();
  }
  assert.equal((await get(`${site.base}/protocol.php`)).body.toString(), 'HTTP/1.1 http off\n');
});

test('HTTP2=off: the preface is refused as HTTP/1 (505), as nginx without http2 refuses it', async () => {
  const off = await startServer(engine, { DOCUMENT_ROOT: root, HTTP2: 'off' });
  try {
    assert.match(await raw(off.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), /^HTTP\/1\.1 505 /);
    const on = await raw(site.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    assert.equal(on.charCodeAt(3), 4, 'with HTTP/2 on: a SETTINGS frame');
  } finally {
    await off.close();
  }
});

/** The subject CN of the certificate a new TLS connection gets, offering `alpn`. */
function certificateName(port: number, alpn: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: [alpn] }, () => {
      const name = String(socket.getPeerCertificate().subject.CN);
      socket.end();
      // uWS, which serves clients that offer only HTTP/1.1, answers no ALPN
      resolve(`${name} ${socket.alpnProtocol || 'no ALPN'}`);
    });
    socket.on('error', reject);
  });
}

test('TLS_MIN_VERSION=TLSv1.3 refuses a TLS 1.2 client on HTTP/1.1 and HTTP/2 alike; by default TLS 1.2 is served', async () => {
  const strict = await startServer(engine, { DOCUMENT_ROOT: root, TLS_CERT: cert, TLS_KEY: key, TLS_MIN_VERSION: 'TLSv1.3' });
  const overTls = (port: number, ...flags: string[]) =>
    curl('-k', ...flags, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://127.0.0.1:${port}/protocol.php`).catch((err: { code: number }) => `curl exit ${err.code}`);
  try {
    for (const version of ['--http1.1', '--http2']) {
      // curl's exit 35: the TLS handshake failed
      assert.equal(await overTls(strict.port, version, '--tls-max', '1.2'), 'curl exit 35', `${version} over TLS 1.2`);
      assert.match(await overTls(strict.port, version, '--tlsv1.3'), / 200$/, `${version} over TLS 1.3`);
      assert.match(await overTls(tls.port, version, '--tls-max', '1.2'), / 200$/, `${version} over TLS 1.2, by default`);
    }
  } finally {
    await strict.close();
  }
});

test('SIGHUP loads a renewed certificate: new connections get it on HTTP/1.1 and HTTP/2', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-renew-'));
  const live = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const make = (name: string) => execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', live.key,
    '-out', live.cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  try {
    make('before.test');
    const cli = await startCli(['--docroot', root, '--workers', '1', '--processes', '1'], { TLS_CERT: live.cert, TLS_KEY: live.key });
    try {
      assert.equal(await certificateName(cli.port, 'h2'), 'before.test h2');
      assert.equal(await certificateName(cli.port, 'http/1.1'), 'before.test no ALPN');
      make('after.test');
      cli.child.kill('SIGHUP');
      await cli.waitFor(/"msg":"reloaded"/);
      assert.equal(await certificateName(cli.port, 'h2'), 'after.test h2');
      assert.equal(await certificateName(cli.port, 'http/1.1'), 'after.test no ALPN');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An HTTP/1 request's informational responses and final one, each with when it came (ms). */
function withHints(url: string, headers: Record<string, string> = {}): Promise<{ hints: [number, number, unknown][]; status: number; at: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const hints: [number, number, unknown][] = [];
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { headers, agent: false, rejectUnauthorized: false }, (res) => {
      const at = Date.now() - started;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ hints, status: res.statusCode ?? 0, at, body }));
    });
    req.on('information', (info) => hints.push([info.statusCode, Date.now() - started, info.headers.link]));
    req.on('error', reject);
    req.end();
  });
}

test('103 Early Hints (headers_send) reach the client before the final response, on every protocol', async () => {
  const link = '</style.css>; rel=preload; as=style';
  const check = (r: Awaited<ReturnType<typeof withHints>>, label: string) => {
    assert.deepEqual(r.hints.map(([status, , l]) => [status, l]), [[103, link]], label);
    assert.ok(r.at - r.hints[0][1] >= 200, `${label}: hint at ${r.hints[0][1]} ms, answer at ${r.at} ms`);
    assert.equal(r.status, 200, label);
    assert.equal(r.body, 'final\n', label);
  };
  check(await withHints(`${site.base}/hints.php`), 'HTTP/1.1 on uWS');
  // over 90 header lines: the same request on Node's http
  const many = Object.fromEntries(Array.from({ length: 95 }, (_, i) => [`x-h${i}`, 'v']));
  check(await withHints(`${site.base}/hints.php`, many), "HTTP/1.1 on Node's http");
  check(await withHints(`${tls.base}/hints.php`), 'HTTP/1.1 over TLS on uWS');
  // HTTP/1.0 has no informational responses: the final one only
  const old = await raw(site.port, 'GET /hints.php HTTP/1.0\r\n\r\n');
  assert.match(old, /^HTTP\/1\.1 200 /);
  assert.doesNotMatch(old, /103/);

  const session = plain();
  try {
    const started = Date.now();
    const stream = session.request({ ':path': '/hints.php' });
    const hint = new Promise<[unknown, unknown, number]>((resolve) => stream.once('headers', (h) => resolve([h[':status'], h.link, Date.now() - started])));
    const r = await new Promise<{ status: unknown; at: number; body: string }>((resolve, reject) => {
      let body = '';
      let status: unknown;
      let at = 0;
      stream.on('response', (h) => { status = h[':status']; at = Date.now() - started; });
      stream.on('data', (d: Buffer) => (body += d.toString()));
      stream.on('end', () => resolve({ status, at, body }));
      stream.on('error', reject);
    });
    const [hintStatus, hintLink, hintAt] = await hint;
    assert.deepEqual([hintStatus, hintLink], [103, link]);
    assert.ok(r.at - hintAt >= 200, `HTTP/2: hint at ${hintAt} ms, answer at ${r.at} ms`);
    assert.deepEqual([r.status, r.body], [200, 'final\n']);
  } finally {
    session.close();
  }
});

test('static files over HTTP/2: ETag revalidation (304) and Range (206)', async () => {
  const session = plain();
  try {
    const full = await h2(session, { ':path': '/hello.txt' });
    assert.equal(full.status, 200);
    const etag = String(full.headers.etag);
    assert.match(etag, /^"/);
    const again = await h2(session, { ':path': '/hello.txt', 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const part = await h2(session, { ':path': '/hello.txt', range: 'bytes=0-3' });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), full.body.subarray(0, 4).toString());
    assert.equal(part.headers['content-range'], `bytes 0-3/${full.body.length}`);
  } finally {
    session.close();
  }
});

test('a slow HTTP/2 reader makes the PHP thread wait (flow control) instead of growing memory', async () => {
  const bridge = await startServer(engine, { DOCUMENT_ROOT: path.join(FIXTURES, 'bridge'), REQUEST_TIMEOUT: 'off' });
  const session = connect(`http://127.0.0.1:${bridge.port}`);
  const progress = path.join(tmp, 'progress');
  try {
    const stream = session.request({ ':path': `/flood.php?mb=64&progress=${encodeURIComponent(progress)}` });
    stream.pause();
    await sleep(1500);
    const written = Number(readFileSync(progress, 'utf8'));
    assert.ok(written < 16 * 1024 * 1024, `wrote ${written} bytes while nobody read`);
    let received = 0;
    stream.on('data', (c: Buffer) => (received += c.length));
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    assert.equal(received, 64 * 1024 * 1024);
  } finally {
    session.close();
    await bridge.close();
  }
});

/** One HTTP/2 frame: 3 bytes of length, type, flags, 4 of stream id, the payload. */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

test('a CONTINUATION flood closes its connection; the server serves others', async () => {
  const closed = await new Promise<boolean>((resolve) => {
    const sock = tcpConnect(site.port, '127.0.0.1');
    sock.on('error', () => resolve(true));
    sock.on('close', () => resolve(true));
    sock.on('data', () => {});
    sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))]));
    // HEADERS without END_HEADERS (a literal header field, never indexed), then CONTINUATION
    // frames that never end the block, each with another header (CVE-2024-27316's pattern)
    const field = (i: number) => Buffer.concat([Buffer.from([0x10, 6]), Buffer.from('x-junk'), Buffer.from([8]), Buffer.from(String(i).padStart(8, '0'))]);
    sock.write(frame(1, 0 /* no END_HEADERS */, 1, Buffer.concat([Buffer.from([0x82, 0x84, 0x86]), Buffer.from([0x41, 1]), Buffer.from('x')])));
    let i = 0;
    const flood = () => {
      if (sock.destroyed) return;
      for (let k = 0; k < 500; k++) sock.write(frame(9, 0, 1, field(i++)));
      if (i < 200_000) setImmediate(flood);
      else resolve(false);
    };
    flood();
  });
  assert.ok(closed, 'the server closed the flooding connection');
  const session = plain();
  try {
    assert.equal((await h2(session, { ':path': '/protocol.php' })).body.toString(), 'HTTP/2.0 http off\n');
  } finally {
    session.close();
  }
});
