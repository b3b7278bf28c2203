// Request bodies: read before the queue, spooled to an unlinked file beyond BODY_BUFFER_SIZE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
// the spool goes to os.tmpdir(): a directory of its own shows what is left behind
const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'tokio-spool-'));
const originalTmp = process.env.TMPDIR;
let engine: Engine;
let site: Running;

before(async () => {
  process.env.TMPDIR = spoolDir;
  engine = await Engine.start({ workers: 1, env: {}, logger: () => {}, ini: { upload_max_filesize: '16M', post_max_size: '16M' } });
  site = await startServer(engine, { DOCUMENT_ROOT: root, QUEUE_CAPACITY: '2', BODY_BUFFER_SIZE: '64k', MAX_BODY_SIZE: '16m' });
});
after(async () => {
  await site.close();
  await engine.shutdown();
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  rmSync(spoolDir, { recursive: true, force: true });
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
/** descriptors of this process open on files in the spool directory (unlinked ones included) */
const spoolFds = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith(spoolDir);
  } catch {
    return false;
  }
});
async function settled(): Promise<void> {
  for (let i = 0; i < 100 && spoolFds().length; i++) await sleep(20);
}

function post(pathname: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${site.base}${pathname}`, { method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('250 connections holding POST bodies take no queue place: other requests are served', async () => {
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 250; i++) {
      const sock = connect(site.port, '127.0.0.1');
      sock.on('error', () => {});
      sock.write('POST /upload.php HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial');
      held.push(sock);
    }
    await sleep(300); // every head is in
    const plain = await get(`${site.base}/info.php`, { agent: false });
    assert.equal(plain.status, 200);
    const small = await post('/upload.php', Buffer.from('a=1'));
    assert.equal(small.status, 200);
    assert.deepEqual(JSON.parse(small.body), { input_len: 3, input_sha1: sha1(Buffer.from('a=1')) });
  } finally {
    for (const sock of held) sock.destroy();
  }
});

test('a body over BODY_BUFFER_SIZE reaches PHP whole through the spool, and no file is left', async () => {
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const r = await post('/upload.php', body, { 'Content-Type': 'application/octet-stream' });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { input_len: body.length, input_sha1: sha1(body) });
  await settled();
  assert.deepEqual(readdirSync(spoolDir), []);
  assert.deepEqual(spoolFds(), []);
});

test('a chunked multipart upload past BODY_BUFFER_SIZE gives $_FILES the same bytes', async () => {
  const file = randomBytes(5 * 1024 * 1024);
  const boundary = 'tokio-boundary-1234';
  const multipart = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="up"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${site.base}/upload.php`, {
      method: 'POST', agent: false, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Transfer-Encoding': 'chunked' },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    for (let at = 0; at < multipart.length; at += 256 * 1024) req.write(multipart.subarray(at, at + 256 * 1024));
    req.end();
  });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body).files, { up: { error: 0, size: file.length, sha1: sha1(file) } });
  await settled();
  assert.deepEqual(readdirSync(spoolDir), []);
  assert.deepEqual(spoolFds(), []);
});

test('a spooled upload the client abandons, and one over MAX_BODY_SIZE, leave no file and no descriptor', async () => {
  // abandoned half way
  const sock = connect(site.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.write('POST /upload.php HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n');
  sock.write(randomBytes(1024 * 1024));
  for (let i = 0; i < 100 && spoolFds().length === 0; i++) await sleep(20);
  assert.equal(spoolFds().length, 1, 'the body is being spooled');
  assert.deepEqual(readdirSync(spoolDir), [], 'unlinked while open');
  sock.destroy();
  await settled();
  assert.deepEqual(spoolFds(), []);

  // chunked past MAX_BODY_SIZE: 413, and the spool is dropped
  const head = 'POST /upload.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n';
  const chunk = randomBytes(1024 * 1024);
  const chunks = Array.from({ length: 17 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
  const reply = await raw(site.port, Buffer.concat([Buffer.from(head), ...chunks, Buffer.from('0\r\n\r\n')]), 1000);
  assert.match(reply, /^HTTP\/1\.1 413 /);
  await settled();
  assert.deepEqual(spoolFds(), []);
  assert.deepEqual(readdirSync(spoolDir), []);
});

test('over MAX_BODY_SIZE, a client that writes all 64 MiB before it reads gets the 413, 5 times of 5, with either framing', async () => {
  // nginx reads and drops the rest (lingering close), so such a client finds the status instead of
  // a reset that throws away what it had not read yet
  const upload = (chunked: boolean) => new Promise<string>((resolve) => {
    const sock = connect(site.port, '127.0.0.1');
    sock.pause(); // reads nothing until it has sent everything
    let reply = '';
    sock.on('data', (d) => (reply += d.toString('latin1')));
    sock.on('close', () => resolve(reply.split('\r\n')[0]));
    sock.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${64 * 1024 * 1024}`;
    sock.write(`POST /upload.php HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`);
    const mib = Buffer.alloc(1024 * 1024, 'x');
    const piece = chunked ? Buffer.concat([Buffer.from('100000\r\n'), mib, Buffer.from('\r\n')]) : mib;
    let sent = 0;
    const write = (): void => {
      while (sent < 64) {
        sent++;
        if (!sock.write(piece)) return void sock.once('drain', write);
      }
      sock.write(chunked ? '0\r\n\r\n' : '', () => sock.resume());
    };
    write();
  });
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) seen.push(await upload(false), await upload(true));
  assert.deepEqual(seen, Array(10).fill('HTTP/1.1 413 Payload Too Large'));
  await settled();
  assert.deepEqual(spoolFds(), []);
});
