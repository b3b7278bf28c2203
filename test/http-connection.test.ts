// Who is at each end of a connection, as PHP sees it on every transport, and what the server
// says about itself in response headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get as httpGet, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES } from './helpers/php.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');
let engine: Engine;
let site: Running;

before(async () => {
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root });
});
after(async () => {
  await site.close();
  await engine.shutdown();
});

interface Got { res: IncomingMessage; clientPort: number; body: string }
const collect = (resolve: (g: Got) => void) => (res: IncomingMessage) => {
  const clientPort = res.socket.localPort!; // the socket goes back to the agent before 'end'
  let body = '';
  res.setEncoding('latin1');
  res.on('data', (d) => (body += d));
  res.on('end', () => resolve({ res, clientPort, body }));
};
const fetchHttp = (url: string, agent: Agent) => new Promise<Got>((resolve, reject) => {
  httpGet(url, { agent }, collect(resolve)).on('error', reject);
});

test('REMOTE_PORT and SERVER_ADDR on uWS: the client\'s port on each of 100 keep-alive requests', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const { res, clientPort, body } = await fetchHttp(`${site.base}/peer.php?n=${i}`, agent);
      assert.equal(res.statusCode, 200);
      assert.equal(body, `127.0.0.1 ${clientPort} 127.0.0.1 ${site.port}\n`);
      seen.add(body);
    }
    assert.equal(seen.size, 1, 'one connection served all of them');
  } finally {
    agent.destroy();
  }
});

test('REMOTE_PORT and SERVER_ADDR on Node\'s path (HTTP/1.0)', async () => {
  const sock = connect(site.port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  const clientPort = sock.localPort;
  const reply = await new Promise<string>((resolve) => {
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.write('GET /peer.php HTTP/1.0\r\n\r\n');
  });
  assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(reply.endsWith(`\r\n\r\n127.0.0.1 ${clientPort} 127.0.0.1 ${site.port}\n`), reply);
});

test('SERVER_ADDR is the address the connection arrived on, not the listen address 0.0.0.0', async () => {
  const any = await startServer(engine, { DOCUMENT_ROOT: root, LISTEN_ADDR: '0.0.0.0:0' });
  try {
    const local = Object.values(os.networkInterfaces()).flat()
      .filter((a) => a && a.family === 'IPv4').map((a) => a!.address);
    assert.ok(local.includes('127.0.0.1'));
    for (const address of local) {
      const agent = new Agent({ keepAlive: false });
      const { body } = await fetchHttp(`http://${address}:${any.port}/peer.php`, agent);
      assert.equal(body.split(' ')[2], address);
    }
  } finally {
    await any.close();
  }
});

test('REMOTE_PORT over TLS: the client\'s port on each keep-alive request', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-tls-'));
  const key = path.join(tmp, 'key.pem');
  const cert = path.join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const tls = await startServer(engine, { DOCUMENT_ROOT: root, TLS_CERT: cert, TLS_KEY: key });
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  try {
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const { clientPort, body } = await new Promise<Got>((resolve, reject) => {
        httpsGet(`${tls.base}/peer.php`, { agent }, collect(resolve)).on('error', reject);
      });
      assert.equal(body, `127.0.0.1 ${clientPort} 127.0.0.1 ${tls.port}\n`);
      ports.add(clientPort);
    }
    assert.equal(ports.size, 1);
  } finally {
    agent.destroy();
    await tls.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

const headerLines = (reply: string, name: string) =>
  reply.slice(0, reply.indexOf('\r\n\r\n')).split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));

test('responses carry Server: tokio-php and no uWebSockets header, on every path', async () => {
  for (const request of [
    'GET /peer.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', // uWS, PHP
    'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', // uWS, static
    'GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', // uWS, 404
    'GET /peer.php HTTP/1.0\r\n\r\n', // Node's http
  ]) {
    const reply = await raw(site.port, request);
    assert.match(reply, /^HTTP\/1\.1 (200|404) /, request);
    assert.deepEqual(headerLines(reply, 'uWebSockets'), [], request);
    assert.deepEqual(headerLines(reply, 'Server'), ['Server: tokio-php'], request);
  }
});

test('a script\'s own Server header is the only one sent', async () => {
  for (const version of ['1.1', '1.0']) {
    const reply = await raw(site.port, `GET /peer.php?server=acme-php HTTP/${version}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(headerLines(reply, 'Server'), ['Server: acme-php'], version);
  }
});

test('SERVER_HEADER names the Server header, or turns it off when empty', async () => {
  for (const [value, expected] of [['edge/1', ['Server: edge/1']], ['', []]] as const) {
    const custom = await startServer(engine, { DOCUMENT_ROOT: root, SERVER_HEADER: value });
    try {
      const reply = await raw(custom.port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(reply, /^HTTP\/1\.1 200 /);
      assert.deepEqual(headerLines(reply, 'Server'), expected);
      assert.equal((await get(`${custom.base}/peer.php`, { agent: false })).headers.server, expected[0]?.slice(8));
    } finally {
      await custom.close();
    }
  }
});
