// What the engine hands back: status, every header, and the body byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES, header, headerAll, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');
let engine: Engine;

before(async () => {
  engine = await Engine.start({ workers: 2, env: {} });
});
after(() => engine.shutdown());

const run = (uri: string, extra = {}) => engine.execute(phpRequest(root, uri, extra));

test('http_response_code() sets the status', async () => {
  const res = await run('/response.php?case=code');
  assert.equal(res.status, 201);
  assert.equal(res.body.toString(), 'created');
  assert.deepEqual(res.headers, ['Content-type', 'text/html; charset=UTF-8']);
});

test('a status line header sets status and reason phrase', async () => {
  const res = await run('/response.php?case=status-line');
  assert.equal(res.status, 404);
  assert.equal(res.reason, 'Gone Fishing');
  assert.equal(res.body.toString(), 'nope');
});

test('Location redirects with 302 as php-fpm does, for POST too', async () => {
  for (const method of ['GET', 'POST']) {
    const res = await run('/response.php?case=location', { method });
    assert.equal(res.status, 302);
    assert.equal(header(res, 'Location'), '/elsewhere');
  }
});

test('repeated Set-Cookie lines stay separate', async () => {
  const res = await run('/response.php?case=cookies');
  assert.deepEqual(headerAll(res, 'Set-Cookie'), ['a=1', 'b=two%20words; path=/x; HttpOnly', 'c=3']);
});

test('header_remove(), headers_list() and headers_sent() behave as under php-fpm', async () => {
  const res = await run('/response.php?case=remove');
  assert.deepEqual(JSON.parse(res.body.toString()), {
    list: ['X-Keep: 1', 'X-Multi: a', 'X-Multi: b'], sent: false,
  });
  assert.deepEqual(res.headers, ['X-Keep', '1', 'X-Multi', 'a', 'X-Multi', 'b', 'Content-type', 'text/html; charset=UTF-8']);

  const late = await run('/response.php?case=sent');
  assert.equal(header(late, 'X-Too-Late'), undefined);
  assert.deepEqual(JSON.parse(late.body.toString().slice(1)), [false, true, 'response.php', 25]);
});

test('a 20 MB response arrives whole', async () => {
  const res = await run('/response.php?case=big&mb=20');
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 20 * 1024 * 1024);
  const block = Buffer.concat(Array(1024 * 32).fill(createHash('sha256').update('tokio').digest()));
  const expected = createHash('sha1');
  for (let i = 0; i < 20; i++) expected.update(block);
  assert.equal(createHash('sha1').update(res.body).digest('hex'), expected.digest('hex'));
});

test('releaseBody() gives a large body back at once; the Buffer reads as empty after', async () => {
  const [large, small] = await Promise.all([run('/response.php?case=big&mb=1'), run('/response.php?case=code')]);
  assert.equal(large.body.length, 1024 * 1024);
  engine.releaseBody(large.body);
  assert.equal(large.body.length, 0);
  engine.releaseBody(small.body); // a copy the collector frees: kept as it is
  assert.equal(small.body.toString(), 'created');
  const again = await run('/response.php?case=big&mb=1');
  assert.equal(again.body.length, 1024 * 1024);
});

test('output is binary-safe', async () => {
  const res = await run('/response.php?case=binary');
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.deepEqual(res.body, Buffer.concat([Buffer.from([0, 0xff, 0, 0xfe]), all]));
});

test('output from exit(), die(), shutdown functions and destructors is kept', async () => {
  assert.equal((await run('/ending.php')).body.toString(), '[body][exit][shutdown][destructor]');
  assert.equal((await run('/ending.php?die=1')).body.toString(), '[body][die][shutdown][destructor]');
});

test('with streaming hooks, flush() sends the headers and then each part as it is written', async () => {
  const events: string[] = [];
  const res = await engine.execute(phpRequest(root, '/stream.php'), {
    onHeaders: (status, _reason, headers) => events.push(`headers ${status} ${headers.join('|')}`),
    onChunk: (chunk) => events.push(`chunk ${chunk.toString()}`),
  });
  assert.deepEqual(events, [
    'headers 200 X-Stream|yes|Content-type|text/html; charset=UTF-8',
    'chunk part 1\n', 'chunk part 2\n', 'chunk part 3\n',
  ]);
  assert.equal(res.streamed, true);
  assert.equal(res.body.toString(), 'tail');
});
