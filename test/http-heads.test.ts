// Every request head of a keep-alive connection under the rules of its first: header counts and
// sizes as nginx allows them, HEADER_TIMEOUT, bodies of both framings between heads. The first
// request of a connection is classified by the native gate; those after it by the hook on uWS's
// data handler (native/gate/uws_heads.cc), which hands a head uWS would refuse to Node's http.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
let engine: Engine;
let site: Running;

before(async () => {
  engine = await Engine.start({ workers: 1, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root });
});
after(async () => {
  await site.close();
  await engine.shutdown();
});

interface Response {
  status: number;
  headers: string;
  body: string;
}

/** One keep-alive connection, a request at a time: each answer is read whole before the next request. */
class Connection {
  readonly #sock: Socket;
  #buffer = '';
  #closed = false;
  #waiting?: () => void;

  constructor(port: number) {
    this.#sock = connect(port, '127.0.0.1');
    this.#sock.setNoDelay(true);
    this.#sock.on('data', (d) => { this.#buffer += d.toString('latin1'); this.#waiting?.(); });
    this.#sock.on('close', () => { this.#closed = true; this.#waiting?.(); });
    this.#sock.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: string): void {
    this.#sock.write(bytes, 'latin1');
  }

  async request(bytes: string): Promise<Response> {
    this.write(bytes);
    return this.response();
  }

  /** The next answer, whole (Content-Length or chunked); rejects if the connection closes first. */
  async response(): Promise<Response> {
    for (;;) {
      const taken = this.#take();
      if (taken) return taken;
      if (this.#closed) throw new Error(`closed with ${JSON.stringify(this.#buffer)} unanswered`);
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  /** Resolves when the server closes the connection, with how long that took and what it sent meanwhile. */
  async untilClosed(): Promise<string> {
    while (!this.#closed) await new Promise<void>((resolve) => (this.#waiting = resolve));
    return this.#buffer;
  }

  end(): void {
    this.#sock.destroy();
  }

  #take(): Response | undefined {
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return undefined;
    const headers = this.#buffer.slice(0, headEnd);
    let rest = this.#buffer.slice(headEnd + 4);
    let body: string;
    const length = /\r\ncontent-length: *(\d+)/i.exec(headers);
    if (length) {
      if (rest.length < Number(length[1])) return undefined;
      body = rest.slice(0, Number(length[1]));
      rest = rest.slice(body.length);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(headers)) {
      body = '';
      for (;;) {
        const line = rest.indexOf('\r\n');
        if (line < 0) return undefined;
        const size = parseInt(rest.slice(0, line), 16);
        if (rest.length < line + 2 + size + 2) return undefined;
        body += rest.slice(line + 2, line + 2 + size);
        rest = rest.slice(line + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      return undefined; // these tests' answers all have a length
    }
    this.#buffer = rest;
    return { status: Number(headers.slice(9, 12)), headers, body };
  }
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const manyHeaders = Array.from({ length: 100 }, (_, i) => `X-H${i}: v${i}\r\n`).join('');

/** headers.php's answer: every HTTP_* PHP saw */
function seen(r: Response): Record<string, string> {
  assert.equal(r.status, 200, r.headers);
  return JSON.parse(r.body) as Record<string, string>;
}

function assertAllHundred(r: Response, label: string): void {
  const headers = seen(r);
  assert.equal(Object.keys(headers).length, 101, label); // and Host
  for (let i = 0; i < 100; i++) assert.equal(headers[`HTTP_X_H${i}`], `v${i}`, `${label}: X-H${i}`);
}

test('100 headers reach PHP on the 2nd and the 50th request of a connection, and an 8 KB line on the 3rd', async () => {
  // uWS parses at most 97 header lines: these heads leave it for Node's http, with their connection
  const early = new Connection(site.port);
  try {
    assert.deepEqual(seen(await early.request(get('/headers.php'))), { HTTP_HOST: 'x' });
    assertAllHundred(await early.request(get('/headers.php', manyHeaders)), '2nd request');
    const big = 'b'.repeat(8000);
    assert.equal(seen(await early.request(get('/headers.php', `X-Big: ${big}\r\n`))).HTTP_X_BIG, big);
    for (let i = 4; i < 50; i++) assert.deepEqual(seen(await early.request(get(`/headers.php?${i}`))), { HTTP_HOST: 'x' });
    assertAllHundred(await early.request(get('/headers.php', manyHeaders)), '50th request');
    assert.deepEqual(seen(await early.request(get('/headers.php'))), { HTTP_HOST: 'x' });
  } finally {
    early.end();
  }
  const late = new Connection(site.port);
  try {
    for (let i = 1; i < 50; i++) assert.deepEqual(seen(await late.request(get(`/headers.php?${i}`))), { HTTP_HOST: 'x' });
    assertAllHundred(await late.request(get('/headers.php', manyHeaders)), '50th request after 49 on uWS');
    assert.deepEqual(seen(await late.request(get('/headers.php'))), { HTTP_HOST: 'x' });
  } finally {
    late.end();
  }
});

test('bodies of both framings, whole or in pieces, keep the requests after them in step', async () => {
  const conn = new Connection(site.port);
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
  const info = (r: Response) => {
    assert.equal(r.status, 200, r.headers);
    return JSON.parse(r.body) as { body_sha1: string; REQUEST_METHOD: string };
  };
  try {
    const body = 'a=' + 'x'.repeat(3000);
    const form = 'Content-Type: application/x-www-form-urlencoded\r\n';
    assert.equal(info(await conn.request(`POST /info.php HTTP/1.1\r\nHost: x\r\n${form}Content-Length: ${body.length}\r\n\r\n${body}`)).body_sha1, sha1(body));
    assertAllHundred(await conn.request(get('/headers.php', manyHeaders)), 'after a Content-Length body');

    // a chunked body written in small pieces, a chunk split anywhere, then a chunked body in one write
    const chunked = `5\r\nhello\r\n1A\r\n${'y'.repeat(26)}\r\n0\r\n\r\n`;
    const conn2 = new Connection(site.port);
    try {
      conn2.write('POST /info.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (const piece of chunked.match(/.{1,3}/gs)!) {
        conn2.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(info(await conn2.response()).body_sha1, sha1('hello' + 'y'.repeat(26)));
      assertAllHundred(await conn2.request(get('/headers.php', manyHeaders)), 'after a chunked body sent in pieces');
    } finally {
      conn2.end();
    }
    const conn3 = new Connection(site.port);
    try {
      assert.equal(info(await conn3.request(`POST /info.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`)).body_sha1, sha1('hello' + 'y'.repeat(26)));
      assertAllHundred(await conn3.request(get('/headers.php', manyHeaders)), 'after a chunked body');
      assert.deepEqual(seen(await conn3.request(get('/headers.php'))), { HTTP_HOST: 'x' });
    } finally {
      conn3.end();
    }
  } finally {
    conn.end();
  }
});

test('HEADER_TIMEOUT bounds a later head too: trickled past it the connection closes, slower than uWS allows but in time it is served', async () => {
  const trickle = async (conn: Connection, head: string, everyMs: number) => {
    for (const ch of head) {
      if (conn.closed) return;
      conn.write(ch);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  const head = get('/headers.php', 'X-Slow: 1\r\n');
  const short = await startServer(engine, { DOCUMENT_ROOT: root, HEADER_TIMEOUT: '1s' });
  try {
    const conn = new Connection(short.port);
    assert.equal((await conn.request(get('/hello.txt'))).status, 200);
    const started = Date.now();
    void trickle(conn, head, 300); // 15 s for the whole head
    assert.equal(await conn.untilClosed(), '', 'nothing answered');
    const ms = Date.now() - started;
    // uSockets times in 4 s ticks: at least HEADER_TIMEOUT, at most two ticks more
    assert.ok(ms >= 1000 && ms < 9000, `closed after ${ms} ms`);
  } finally {
    await short.close();
  }
  // uWS's own timer would close a connection 10 s after its last answer; HEADER_TIMEOUT decides
  const long = await startServer(engine, { DOCUMENT_ROOT: root, HEADER_TIMEOUT: '20s' });
  try {
    const conn = new Connection(long.port);
    assert.equal((await conn.request(get('/hello.txt'))).status, 200);
    const served = conn.response();
    await trickle(conn, head, Math.ceil(13_000 / head.length));
    assert.deepEqual(seen(await served), { HTTP_HOST: 'x', HTTP_X_SLOW: '1' });
    conn.end();
  } finally {
    await long.close();
  }
});

test('a later request uWS refuses on a reused connection gets a page that names no library', async () => {
  const conn = new Connection(site.port);
  try {
    assert.equal((await conn.request(get('/hello.txt'))).status, 200);
    // a chunk size that is not hexadecimal: uWS answers 400 itself
    conn.write('POST /info.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    const reply = await conn.untilClosed();
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.doesNotMatch(reply, /uWebSockets/i);
  } finally {
    conn.end();
  }
});

test('a later head is refused as a first one is: a bad Content-Length 400, a head over 16 KB 431, with our Server header', async () => {
  for (const [label, head, status] of [
    ['Content-Length not a number', 'POST /info.php HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc', 400],
    ['a 20 KB head', get('/headers.php', `X-Big: ${'b'.repeat(20_000)}\r\n`), 431],
  ] as const) {
    for (const later of [false, true]) {
      const conn = new Connection(site.port);
      try {
        if (later) assert.equal((await conn.request(get('/hello.txt'))).status, 200);
        conn.write(head);
        const reply = await conn.untilClosed();
        assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), `${label}, ${later ? 'later' : 'first'} request`);
        assert.match(reply, /\r\nServer: tokio-php\r\n/, `${label}, ${later ? 'later' : 'first'} request`);
      } finally {
        conn.end();
      }
    }
  }
});
