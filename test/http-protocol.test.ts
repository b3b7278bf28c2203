// HTTP/1.1 on the wire: keep-alive, pipelining, bodies, and the malformed requests nginx refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
let engine: Engine;
let site: Running;

before(async () => {
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root, MAX_BODY_SIZE: '1m' });
});
after(async () => {
  await site.close();
  await engine.shutdown();
});

const responses = (text: string) => text.match(/HTTP\/1\.1 \d{3} /g)?.map((r) => r.trim()) ?? [];

test('keep-alive: requests one after another on one connection', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      httpGet(`${site.base}/info.php?n=${i}`, { agent }, (res) => {
        ports.add(res.socket.localPort!);
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject);
    });
    assert.equal(status, 200);
  }
  assert.equal(ports.size, 1, 'one connection served all five');
  agent.destroy();
});

test('pipelining of static responses: answered in order on one connection', async () => {
  const reply = await raw(site.port,
    'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
    'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /with-html/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.deepEqual(responses(reply), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
  assert.match(reply, /hello static\n[^]*<p>html index<\/p>\n$/);
});

test('pipelining behind PHP requests: answered in order on one connection', async () => {
  const reply = await raw(site.port,
    'GET /info.php?n=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /info.php?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.deepEqual(responses(reply), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
  assert.match(reply, /"QUERY_STRING":"n=1"[^]*hello static\n[^]*"QUERY_STRING":"n=3"/);
});

test('a chunked request body reaches PHP whole, with CONTENT_LENGTH set', async () => {
  const reply = await raw(site.port,
    'POST /info.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n' +
    '4\r\na=1&\r\n5\r\nb=two\r\n0\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 200 /);
  const s = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
  assert.equal(s.CONTENT_LENGTH, '9');
  assert.deepEqual(s.post, { a: '1', b: 'two' });
  assert.equal(s.body_sha1, createHash('sha1').update('a=1&b=two').digest('hex'));
});

test('Expect: 100-continue is answered before the body is sent', async () => {
  const reply = await raw(site.port,
    'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc');
  assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  assert.match(reply, new RegExp(createHash('sha1').update('abc').digest('hex')));
});

test('malformed or ambiguous requests → 400', async () => {
  const dupLength = await raw(site.port, 'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd');
  assert.match(dupLength, /^HTTP\/1\.1 400 /);
  const lengthAndChunked = await raw(site.port, 'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.match(lengthAndChunked, /^HTTP\/1\.1 400 /);
  assert.match(lengthAndChunked, /\r\nServer: tokio-php\r\n/, "our answer, not uWebSockets.js's own page");
});

test('an over-long URL → 414', async () => {
  const reply = await raw(site.port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 414 /);
});

test('a body over MAX_BODY_SIZE: the client, still uploading, receives the 413 (no reset mid-upload)', async () => {
  // a real client writing a 4 MiB body against a 1m limit, over uWS (HTTP/1.1) and Node's http (HTTP/1.0)
  for (const protocol of ['1.1', '1.0']) {
    const body = Buffer.alloc(4 * 1024 * 1024, 'x');
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(site.port, '127.0.0.1');
      let out = '';
      sock.on('data', (d) => (out += d.toString('latin1')));
      sock.on('close', () => resolve(out));
      sock.on('error', reject); // EPIPE or ECONNRESET would fail the test
      sock.write(`POST /info.php HTTP/${protocol}\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      sock.write(body);
    });
    assert.match(reply, /^HTTP\/1\.1 413 Payload Too Large\r\n/, `HTTP/${protocol}`);
  }
  const chunked = await raw(site.port, 'POST /info.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `100000\r\n${'x'.repeat(0x100000)}\r\n100000\r\n${'x'.repeat(0x100000)}\r\n0\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1\.1 413 /);
});

test('curl uploading 4 MiB (Expect: 100-continue) over MAX_BODY_SIZE reports the 413, not a send error', async () => {
  const child = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', '@-', `${site.base}/info.php`]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(Buffer.alloc(4 * 1024 * 1024, 'x'));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(err, '');
  assert.equal(code, 0);
  assert.equal(out, '413');
});

test('by default PHP\'s own post_max_size decides: a 9 MB form runs the script with an empty $_POST', async () => {
  const defaults = await startServer(engine, { DOCUMENT_ROOT: root });
  try {
    const r = await get(`${defaults.base}/info.php`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=' + 'x'.repeat(9 * 1024 * 1024),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()).post, []);
  } finally {
    await defaults.close();
  }
});

test('BODY_TIMEOUT is between two reads: a slow body is read to the end; a stalled one gets 408', async () => {
  const slow = await startServer(engine, { DOCUMENT_ROOT: root, BODY_TIMEOUT: '1s' });
  try {
    const send = (pauses: number[]) => new Promise<string>((resolve, reject) => {
      const sock = connect(slow.port, '127.0.0.1');
      let out = '';
      sock.on('data', (d) => (out += d.toString('latin1')));
      sock.on('close', () => resolve(out));
      sock.on('error', reject);
      sock.write(`POST /info.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${pauses.length + 2}\r\n\r\na=`);
      let i = 0;
      const next = () => {
        if (i === pauses.length) return;
        setTimeout(() => { sock.write('x'); i++; next(); }, pauses[i]);
      };
      next();
    });
    // 2.4 s in all, never 1 s without a byte
    const served = await send([400, 400, 400, 400, 400, 400]);
    assert.match(served, /^HTTP\/1\.1 200 /);
    assert.match(served, /"post":\{"a":"xxxxxx"\}/);
    const stalled = await send([200, 2500]);
    assert.match(stalled, /^HTTP\/1\.1 408 /);
  } finally {
    await slow.close();
  }
});

test('an upload under 16 KB/s is read to its end, and a body stalled past 10 s gets 408 at BODY_TIMEOUT', async () => {
  // uWS itself closes a connection 10 s after the head unless 160 KB came since: nginx's
  // client_body_timeout, like BODY_TIMEOUT, is between two reads
  const slow = await startServer(engine, { DOCUMENT_ROOT: root, BODY_TIMEOUT: '12s' });
  try {
    const send = (length: number, piece: number, every: number, stopAfter = length) => new Promise<{ reply: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      const sock = connect(slow.port, '127.0.0.1');
      let reply = '';
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      sock.on('data', (d) => (reply += d.toString('latin1')));
      sock.on('close', () => { clearInterval(timer); resolve({ reply, ms: Date.now() - started }); });
      sock.on('error', reject);
      sock.write(`POST /upload.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n`);
      timer = setInterval(() => {
        if (sent >= stopAfter) return clearInterval(timer);
        const n = Math.min(piece, stopAfter - sent);
        sock.write(Buffer.alloc(n, 'x'));
        sent += n;
      }, every);
    });
    // 200 KB at 8 KB/s (25 s: a slow mobile uplink), and 10 of 100 bytes then nothing, at once
    const [uploaded, stalled] = await Promise.all([send(200_000, 1000, 125), send(100, 10, 10, 10)]);
    assert.match(uploaded.reply, /^HTTP\/1\.1 200 /);
    assert.ok(uploaded.reply.endsWith(`{"input_len":200000,"input_sha1":"${createHash('sha1').update(Buffer.alloc(200_000, 'x')).digest('hex')}"}`), uploaded.reply);
    assert.match(stalled.reply, /^HTTP\/1\.1 408 /);
    assert.ok(stalled.ms >= 12_000, `408 after ${stalled.ms} ms`);
  } finally {
    await slow.close();
  }
});

/** Sends raw bytes; resolves with what came back and whether the server closed the connection. */
function exchange(bytes: string | Buffer): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(site.port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => { sock.destroy(); resolve({ reply, closed: false }); }, 5000);
    sock.on('data', (d) => (reply += d.toString('latin1')));
    sock.on('close', () => { clearTimeout(timer); resolve({ reply, closed: true }); });
    sock.on('error', reject);
    sock.write(bytes);
  });
}

test('malformed requests are answered at once and closed, as nginx answers them', async () => {
  const cases: [string, string | Buffer, string][] = [
    ['HTTP/0.9 request line', 'GET /hello.txt\r\n', '400'],
    ['bare CR in the request line', 'GET /hello.txt HTTP/1.1\rHost: x\r\n\r\n', '400'],
    ['bare CR in a header', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n', '400'],
    ['obs-folded header', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n', '400'],
    ['TLS ClientHello on the plain port', Buffer.from('16030100a5010000a10303' + '61'.repeat(40), 'hex'), '400'],
    ['Host with a space', 'GET /hello.txt HTTP/1.1\r\nHost: a b\r\n\r\n', '400'],
    ['Host with a slash', 'GET /hello.txt HTTP/1.1\r\nHost: a/b\r\n\r\n', '400'],
    ['empty Host', 'GET /hello.txt HTTP/1.1\r\nHost: \r\n\r\n', '400'],
    ['Host with a control character', 'GET /hello.txt HTTP/1.1\r\nHost: a\x01b\r\n\r\n', '400'],
    ['two Host headers', 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', '400'],
    ['a NUL in a header', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', '400'],
    ['lower-case method', 'get /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', '400'],
    ['TRACE', 'TRACE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', '405'],
    ['HTTP/2.0 on HTTP/1 framing', 'GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n', '505'],
    ['two Host headers, HTTP/1.0', 'GET /hello.txt HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', '400'],
    ['Content-Length not a number', 'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc', '400'],
    ['negative Content-Length', 'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', '400'],
  ];
  for (const [name, bytes, status] of cases) {
    const { reply, closed } = await exchange(bytes);
    assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), name);
    assert.match(reply, /\r\nServer: tokio-php\r\n/, `${name}: the Server header`);
    assert.ok(closed, `${name}: the connection is closed`);
  }
  // the same requests well-formed are served, and a lone HTTP/1.0 request needs no Host
  assert.match((await exchange('GET /hello.txt HTTP/1.0\r\n\r\n')).reply, /^HTTP\/1\.1 200 /);
});

test('150 request headers, within nginx\'s limits, all reach PHP as HTTP_*', async () => {
  const names = Array.from({ length: 150 }, (_, i) => `X-Many-${i}`);
  const { reply } = await exchange(`GET /headers.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${names.map((n, i) => `${n}: v${i}\r\n`).join('')}\r\n`);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  const seen = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''));
  names.forEach((n, i) => assert.equal(seen[`HTTP_${n.toUpperCase().replaceAll('-', '_')}`], `v${i}`, n));
});

test('PHP headers that would break framing are not passed on', async () => {
  const r = await get(`${site.base}/hello.txt`);
  assert.equal(r.headers['content-length'], '13');
});

// uWebSockets.js refuses these itself; the gate (native/gate) sends them to Node's http instead.
test('HTTP/1.0 clients get a non-chunked response, then the connection closes', async () => {
  const reply = await raw(site.port, 'GET /info.php?v=10 HTTP/1.0\r\nHost: x\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(reply, /\r\nContent-Length: \d+\r\n/);
  assert.doesNotMatch(reply, /Transfer-Encoding/i);
  assert.match(reply, /\r\nConnection: close\r\n/);
  const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
  assert.equal(body.QUERY_STRING, 'v=10');
  const stat = await raw(site.port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
  assert.match(stat, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello static\n$/);
});

test('HTTP/1.1 without Host → 400', async () => {
  assert.match(await raw(site.port, 'GET /hello.txt HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400 /);
});

test('a bad request line → 400', async () => {
  assert.match(await raw(site.port, 'NOT A REQUEST LINE\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await raw(site.port, 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400 /);
});

test('HEADER_TIMEOUT bounds the whole head: one sent in pieces in time is served, one trickled past it is dropped', async () => {
  const slow = await startServer(engine, { DOCUMENT_ROOT: root, HEADER_TIMEOUT: '2s' });
  try {
    const send = (parts: string[], pauseMs: number) => new Promise<{ out: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      const sock = connect(slow.port, '127.0.0.1');
      let out = '';
      let timer: NodeJS.Timeout | undefined;
      const done = () => { clearTimeout(timer); resolve({ out, ms: Date.now() - started }); };
      sock.on('data', (d) => (out += d.toString()));
      sock.on('close', done);
      // dropped with the unread head still queued: the kernel resets the connection
      sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err)));
      const next = (i: number) => {
        if (sock.destroyed) return;
        if (i < parts.length) sock.write(parts[i]);
        if (i < parts.length - 1) timer = setTimeout(() => next(i + 1), pauseMs);
      };
      next(0);
      setTimeout(() => sock.destroy(new Error('still open after 20 s')), 20_000).unref();
    });
    const head = 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const served = await send(head.match(/.{1,8}/gs)!, 100); // whole in under 1 s
    assert.match(served.out, /^HTTP\/1\.1 200 /);
    // a byte every 300 ms: never silent for long, but 17 s for the whole head
    const trickled = await send([...head], 300);
    assert.equal(trickled.out, '');
    assert.ok(trickled.ms >= 2000 && trickled.ms < 8000, `dropped after ${trickled.ms} ms`);
    const stalled = await send(['GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: '], 0); // and nothing more
    assert.equal(stalled.out, '');
  } finally {
    await slow.close();
  }
});
