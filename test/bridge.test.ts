// What PHP scripts see of tokio-php, over real HTTP: the tokio extension, tracing, streaming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'bridge');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-bridge-'));
let engine: Engine;
let site: Running;

before(async () => {
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root, REQUEST_TIMEOUT: '1s', REQUEST_HEARTBEAT_MAX: '2s' });
});
after(async () => {
  await site.close();
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

async function waitFor(file: string): Promise<void> {
  for (let i = 0; i < 300 && !existsSync(file); i++) await sleep(10);
}

for (const fn of ['tokio_finish_request', 'fastcgi_finish_request']) {
  test(`${fn}() answers at once; the script's later side effect still happens`, async () => {
    const mark = path.join(tmp, `${fn}.mark`);
    const r = await get(`${site.base}/finish.php?fn=${fn}&mark=${encodeURIComponent(mark)}`);
    assert.equal(existsSync(mark), false, 'the response came before the script finished');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'answered');
    assert.equal(r.headers['x-before'], 'yes');
    assert.equal(r.headers['x-after'], undefined);
    await waitFor(mark);
    assert.equal(readFileSync(mark, 'utf8'), '[true,false]');
  });
}

test('tokio_request_heartbeat() keeps a 3 s job alive under a 1 s timeout; without it, 504', async () => {
  const beating = await get(`${site.base}/heartbeat.php?ms=3000&beat=1`);
  assert.equal(beating.status, 200);
  assert.deepEqual(JSON.parse(beating.body.toString()), { done: true, beats: [true] });
  const silent = await get(`${site.base}/heartbeat.php?ms=3000`);
  assert.equal(silent.status, 504);
});

test('tokio_request_heartbeat() is refused where no REQUEST_TIMEOUT runs', async () => {
  const untimed = await startServer(engine, { DOCUMENT_ROOT: root, REQUEST_TIMEOUT: 'off' });
  try {
    const r = await get(`${untimed.base}/heartbeat.php?ms=300&beat=1`);
    assert.deepEqual(JSON.parse(r.body.toString()), { done: true, beats: [false] });
  } finally {
    await untimed.close();
  }
});

test('tokio_request_id(), tokio_worker_id(), tokio_server_info(); fastcgi_finish_request() is defined', async () => {
  const r = await get(`${site.base}/info.php`, { headers: { 'X-Request-ID': 'abc-123' } });
  const out = JSON.parse(r.body.toString());
  assert.equal(out.request_id, 'abc-123');
  assert.ok([0, 1].includes(out.worker_id));
  assert.equal(out.server.server, 'tokio-php');
  assert.equal(out.server.sapi, 'fpm-fcgi');
  assert.equal(out.server.zts, true);
  assert.equal(out.server.opcache, true);
  assert.equal(out.server.executor, 'ext');
  assert.equal(out.server.workers, 2);
  assert.equal(out.server.worker_id, out.worker_id);
  assert.match(out.server.version, /^\d+\.\d+\.\d+$/);
  assert.equal(out.fastcgi_alias, true);
});

test('tokio_worker_id() is the thread\'s index: two requests running at once report 0 and 1', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-meet-'));
  try {
    const meet = (me: string, other: string) => get(`${site.base}/rendezvous.php?dir=${dir}&me=${me}&other=${other}`)
      .then((r) => JSON.parse(r.body.toString()));
    const both = await Promise.all([meet('a', 'b'), meet('b', 'a')]);
    assert.deepEqual(both.map((o) => o.met), [true, true]);
    assert.deepEqual(both.map((o) => o.worker).sort(), [0, 1]);
    assert.deepEqual(both.map((o) => o.info), both.map((o) => o.worker));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('putenv(), umask() and setlocale() belong to their request: two at once do not see each other\'s, and a later one sees neither', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-iso-'));
  try {
    const env = async () => JSON.parse((await get(`${site.base}/env.php`)).body.toString());
    const { locale: processLocale } = await env();
    const run = (me: string, other: string, umask: string, locale: string) =>
      get(`${site.base}/isolation.php?dir=${dir}&me=${me}&other=${other}&umask=${umask}&locale=${locale}`).then((r) => JSON.parse(r.body.toString()));
    const [a, b] = await Promise.all([run('a', 'b', '077', 'C.UTF-8'), run('b', 'a', '002', 'C')]);
    assert.deepEqual(a, { env: 'a', in_array: 'a', mode: '600', locale: ['C.UTF-8', 'C.UTF-8', 'C.UTF-8'] });
    assert.deepEqual(b, { env: 'b', in_array: 'b', mode: '664', locale: ['C', 'C', 'C'] });
    for (let i = 0; i < 4; i++) { // both threads
      assert.deepEqual(await env(), {
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- only read, by a test alone in its process
        isolation: false, umask: process.umask().toString(8).padStart(3, '0'), home_unset: false, home_in_array: false, path: true,
        locale: processLocale,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an app that loads ext/polyfill.php still gets the native functions', async () => {
  const r = await get(`${site.base}/polyfilled.php`, { headers: { 'X-Request-ID': 'native-id' } });
  assert.deepEqual(JSON.parse(r.body.toString()), [true, 'native-id']);
});

test('tokio_send_headers() commits status and headers once', async () => {
  const r = await get(`${site.base}/send_headers.php`);
  assert.equal(r.status, 202);
  assert.equal(r.headers['x-early'], '1');
  assert.deepEqual(JSON.parse(r.body.toString()), [true, false, true, 202]);
});

test('traceparent in → the trace continues with a new span, in $_SERVER and in the response', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  const r = await get(`${site.base}/info.php`, { headers: { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'vendor=a1' } });
  const [trace, span, parentSpan, requestId, tracestate] = JSON.parse(r.body.toString()).trace;
  assert.equal(trace, traceId);
  assert.equal(parentSpan, parent);
  assert.match(span, /^[0-9a-f]{16}$/);
  assert.notEqual(span, parent);
  assert.equal(tracestate, 'vendor=a1');
  assert.equal(r.headers.traceparent, `00-${traceId}-${span}-01`);
  assert.equal(r.headers.tracestate, 'vendor=a1');
  assert.equal(r.headers['x-request-id'], requestId);
  assert.match(requestId, /^[0-9a-f]{20}$/);
});

test('without a valid traceparent a new trace starts; X-Request-ID is echoed', async () => {
  const r = await get(`${site.base}/info.php`, { headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'X-Request-ID': 'req.42' } });
  const [trace, span, parentSpan, requestId] = JSON.parse(r.body.toString()).trace;
  assert.match(trace, /^[0-9a-f]{32}$/);
  assert.notEqual(trace, '00000000000000000000000000000000');
  assert.equal(parentSpan, '');
  assert.equal(requestId, 'req.42');
  assert.equal(r.headers.traceparent, `00-${trace}-${span}-01`);
  assert.equal(r.headers['x-request-id'], 'req.42');
});

/** The status line and header lines of a raw response, over HTTP/1.1 (uWS) or HTTP/1.0 (Node's http). */
async function head(uri: string, protocol: 'HTTP/1.1' | 'HTTP/1.0'): Promise<string[]> {
  const out = await raw(site.port, `GET ${uri} ${protocol}\r\nHost: t\r\nConnection: close\r\n\r\n`);
  return out.slice(0, out.indexOf('\r\n\r\n')).split('\r\n');
}

test('header("Status: 503 Service Unavailable") sets the status, as php-fpm; no Status header is sent', async () => {
  for (const protocol of ['HTTP/1.1', 'HTTP/1.0'] as const) {
    const cases: [string, string][] = [
      ['?status=503%20Service%20Unavailable', 'HTTP/1.1 503 Service Unavailable'],
      ['?status=418%20Short%20And%20Stout', 'HTTP/1.1 418 Short And Stout'],
      ['?status=404', 'HTTP/1.1 404 Not Found'],
      ['?code=201&status=202%20Accepted', 'HTTP/1.1 202 Accepted'], // Status wins over http_response_code()
      ['?code=201', 'HTTP/1.1 201 Created'],
    ];
    for (const [query, line] of cases) {
      const lines = await head(`/own_headers.php${query}`, protocol);
      assert.equal(lines[0], line, `${protocol} ${query}`);
      assert.deepEqual(lines.filter((l) => /^status:/i.test(l)), [], `${protocol} ${query}`);
    }
  }
});

test('a script\'s own X-Request-ID wins: the client gets that one, once', async () => {
  const lines = await head('/own_headers.php?id=from-the-app', 'HTTP/1.1');
  assert.deepEqual(lines.filter((l) => /^x-request-id:/i.test(l)), ['X-Request-ID: from-the-app']);
  assert.equal(lines.filter((l) => /^traceparent:/i.test(l)).length, 1);
  const ours = await head('/own_headers.php', 'HTTP/1.1');
  assert.equal(ours.filter((l) => /^x-request-id:/i.test(l)).length, 1);
});

/** Opens a request and hands over the response as soon as its head arrives. */
function open(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

test('flush() commits the headers and sends the body in chunks', async () => {
  const res = await open(`${site.base}/flush.php`);
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  let body = '';
  for await (const chunk of res) body += chunk.toString();
  assert.equal(body, 'one\ntwo\nend\n');
});

test('SSE: events arrive one by one, the first before the script writes the next', async () => {
  const gate = path.join(tmp, 'gate');
  const res = await open(`${site.base}/events.php?n=3&gate=${encodeURIComponent(gate)}`, { Accept: 'text/event-stream' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream;charset=UTF-8'); // PHP's default_charset, as under php-fpm
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['x-accel-buffering'], 'no');
  let text = '';
  const events: string[] = [];
  for await (const chunk of res) {
    text += chunk.toString();
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      events.push(text.slice(0, end));
      text = text.slice(end + 2);
      // the script waits for this file after event 1: only a streamed event 1 can create it
      if (events.length === 1) writeFileSync(gate, '');
    }
  }
  assert.deepEqual(events, ['id: 1\ndata: event 1', 'id: 2\ndata: event 2', 'id: 3\ndata: event 3']);
});

test('a slow reader makes the PHP thread wait instead of growing memory', async () => {
  const untimed = await startServer(engine, { DOCUMENT_ROOT: root, REQUEST_TIMEOUT: 'off' });
  const progress = path.join(tmp, 'progress');
  const res = await open(`${untimed.base}/flood.php?mb=64&progress=${encodeURIComponent(progress)}`);
  res.pause();
  await sleep(1500);
  const written = Number(readFileSync(progress, 'utf8'));
  // 1 MiB window + what the kernel's socket buffers hold: far from the 64 MiB it wants to write
  assert.ok(written < 16 * 1024 * 1024, `wrote ${written} bytes while nobody read`);
  let received = 0;
  res.on('data', (c: Buffer) => (received += c.length));
  res.resume();
  await new Promise((resolve) => res.on('end', resolve));
  assert.equal(received, 64 * 1024 * 1024);
  assert.equal(Number(readFileSync(progress, 'utf8')), 64 * 1024 * 1024);
  await untimed.close();
});

test('a client that leaves an event stream stops its script', async () => {
  const mark = path.join(tmp, 'sse-gone');
  const res = await open(`${site.base}/events.php?n=0&mark=${encodeURIComponent(mark)}`, { Accept: 'text/event-stream' });
  await new Promise((resolve) => res.once('data', resolve));
  res.destroy();
  await waitFor(mark);
  assert.equal(readFileSync(mark, 'utf8'), 'status=1');
});

test('SSE_TIMEOUT caps an event stream; the worker is free after', async () => {
  const capped = await startServer(engine, { DOCUMENT_ROOT: root, SSE_TIMEOUT: '500ms' });
  try {
    const res = await open(`${capped.base}/events.php?n=0`, { Accept: 'text/event-stream' });
    let events = 0;
    for await (const chunk of res) events += (chunk.toString().match(/\n\n/g) ?? []).length;
    assert.ok(events > 1);
    assert.equal((await get(`${capped.base}/info.php`)).status, 200);
  } finally {
    await capped.close();
  }
});
