// One PHP pool per server (the default, PROCESSES=1): every request may run on every free PHP
// thread, whichever connection brought it. Over real sockets against the real command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from './helpers/php.js';
import { startCli } from './helpers/cli.js';

const root = path.join(FIXTURES, 'site');

interface Whoami { process: number; worker: number; workers: number; pid: number; loop: number; localPort: number }

function whoami(port: number, query: string, agent: Agent): Promise<Whoami> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: `/whoami.php${query}`, agent }, (res) => {
      const localPort = res.socket.localPort; // the socket goes back to the agent at the end
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          assert.equal(res.statusCode, 200, body);
          resolve({ ...JSON.parse(body), localPort });
        } catch (err) {
          reject(err);
        }
      });
    }).on('error', reject).end();
  });
}

test('two keep-alive connections with PHP_WORKERS=2 run two requests at once, on both threads, every time', async (t) => {
  const cli = await startCli(['--docroot', root, '--workers', '2']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-pool-'));
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const sockets = new Set<number>();
    const started = Date.now();
    const rounds = 10;
    for (let i = 0; i < rounds; i++) {
      // each request waits inside PHP until its partner is there too: they must run at once
      const pair = await Promise.all([
        whoami(cli.port, `?dir=${dir}&me=a${i}&other=b${i}`, agent),
        whoami(cli.port, `?dir=${dir}&me=b${i}&other=a${i}`, agent),
      ]);
      for (const r of pair) sockets.add(r.localPort);
      assert.deepEqual(pair.map((r) => r.worker).sort(), [0, 1], `round ${i}`);
      assert.deepEqual(pair.map((r) => [r.process, r.workers]), [[0, 2], [0, 2]]);
      assert.equal(pair[0].pid, pair[1].pid, 'one server process');
    }
    assert.equal(sockets.size, 2, 'the same two connections throughout');
    t.diagnostic(`${rounds} pairs met in ${Date.now() - started} ms`);
  } finally {
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.output());
  }
});

test('HTTP_THREADS=2: both event loops accept and feed the one pool; /metrics and /status count every loop\'s requests', async () => {
  const cli = await startCli(['--docroot', root, '--workers', '2', '--http-threads', '2']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-pool-'));
  const agent = new Agent({ keepAlive: false });
  try {
    const loops = new Set<number>();
    const pids = new Set<number>();
    const n = 40;
    for (let i = 0; i < n; i++) {
      const r = await whoami(cli.port, '', agent);
      loops.add(r.loop);
      pids.add(r.pid);
    }
    assert.deepEqual([...loops].sort(), [0, 1], 'a new connection goes to either loop');
    assert.equal(pids.size, 1);
    // two requests from two loops still meet on the two PHP threads
    for (let i = 0; i < 5; i++) {
      const pair = await Promise.all([
        whoami(cli.port, `?dir=${dir}&me=a${i}&other=b${i}`, agent),
        whoami(cli.port, `?dir=${dir}&me=b${i}&other=a${i}`, agent),
      ]);
      assert.deepEqual(pair.map((r) => r.worker).sort(), [0, 1]);
    }
    const metrics = await fetch(`http://127.0.0.1:${cli.internalPort}/metrics`).then((r) => r.text());
    const sent = n + 10;
    assert.match(metrics, new RegExp(`^tokio_php_requests_total\\{method="GET",status="200",upstream="php"\\} ${sent}$`, 'm'));
    const status = await fetch(`http://127.0.0.1:${cli.internalPort}/status?json`).then((r) => r.json());
    assert.equal(status['accepted conn'], sent);
    assert.equal(status['total processes'], 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.output());
  }
});

test('HTTP_THREADS=2: spooled uploads on both loops leave Node no descriptor it thinks open (no "unmanaged mode" warning)', async () => {
  // A worker_thread's Node counts the descriptors its fs opened; the spool's was closed by the
  // addon, so Node warned when the number came back, and would close it again when the thread ends.
  const cli = await startCli(['--docroot', root, '--workers', '2', '--http-threads', '2', '--body-buffer', '64k']);
  try {
    const body = Buffer.alloc(512 * 1024, 'x');
    for (let i = 0; i < 12; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: cli.port, path: '/upload.php', method: 'POST', agent: false,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
    }
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.output());
    assert.doesNotMatch(cli.output(), /unmanaged mode/);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});
