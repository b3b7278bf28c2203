// RATE_LIMIT and TRUSTED_PROXIES over real sockets against the real command (two server
// processes sharing one table), and the table's bound on memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { netAddon } from '../src/native/addon.js';
import { clientAddress, parseTrustedProxies } from '../src/middleware/client-address.js';
import { FIXTURES } from './helpers/php.js';
import { startCli } from './helpers/cli.js';
import { get } from './helpers/server.js';

const root = path.join(FIXTURES, 'site');

test('RATE_LIMIT: one bucket per client across both processes; past it 429 with Retry-After and RateLimit-*', async () => {
  // 20 an hour: nothing refills while the test runs
  const cli = await startCli(['--docroot', root, '--workers', '2', '--processes', '2', '--rate-limit', '20/h']);
  try {
    const base = `http://127.0.0.1:${cli.port}`;
    // a connection each: the processes share them out
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => get(`${base}/${i % 2 ? 'hello.txt' : 'whoami.php'}`, { agent: false })));
    const statuses = replies.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 20, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, 10);
    const pids = new Set(replies.filter((r, i) => r.status === 200 && i % 2 === 0).map((r) => JSON.parse(r.body.toString()).pid));
    assert.equal(pids.size, 2, 'both processes served, and counted in one table');
    const refused = replies.find((r) => r.status === 429)!;
    assert.equal(refused.body.toString(), '429 Too Many Requests\n');
    assert.equal(refused.headers['ratelimit-limit'], '20');
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    const wait = Number(refused.headers['retry-after']);
    assert.ok(wait > 100 && wait <= 180, `Retry-After ${wait}: one token comes back in 180 s`);
    assert.equal(refused.headers['ratelimit-reset'], refused.headers['retry-after']);
    const allowed = replies.filter((r) => r.status === 200).map((r) => Number(r.headers['ratelimit-remaining'])).sort((a, b) => a - b);
    assert.deepEqual(allowed, Array.from({ length: 20 }, (_, i) => i), 'each allowed request saw what was left');
    const metrics = (await get(`http://127.0.0.1:${cli.internalPort}/metrics`)).body.toString();
    assert.match(metrics, /^tokio_php_rate_limited_total 10$/m);
    assert.match(metrics, /^tokio_php_requests_total\{method="GET",status="429",upstream="server"\} 10$/m);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('TRUSTED_PROXIES: behind a trusted proxy the client is X-Forwarded-For\'s, for REMOTE_ADDR and the limit; from anyone else the header is ignored', async () => {
  const trusting = await startCli(['--docroot', root, '--workers', '1', '--rate-limit', '2/h', '--trusted-proxies', '127.0.0.0/8']);
  try {
    const base = `http://127.0.0.1:${trusting.port}`;
    const as = (client: string) => get(`${base}/peer.php`, { headers: { 'X-Forwarded-For': `${client}, 10.9.9.9` }, agent: false });
    // 10.9.9.9 is not trusted: it is the client, whatever it forwards
    const remoteAddr = (r: { body: Buffer }) => r.body.toString().split(' ')[0];
    assert.equal(remoteAddr(await as('198.51.100.7')), '10.9.9.9');
    const viaTrusted = await get(`${base}/peer.php`, { headers: { 'X-Forwarded-For': '203.0.113.5, 127.0.0.2' }, agent: false });
    assert.equal(remoteAddr(viaTrusted), '203.0.113.5');
    assert.equal((await as('198.51.100.8')).status, 200);
    assert.equal((await as('198.51.100.9')).status, 429, '10.9.9.9 used its two');
    assert.equal((await get(`${base}/peer.php`, { headers: { Forwarded: 'for="[2001:db8::1]:4711";proto=https' }, agent: false })).status, 200,
      'another client (Forwarded) has its own bucket');
  } finally {
    trusting.child.kill('SIGTERM');
    await trusting.exited;
  }
  const trustingNobody = await startCli(['--docroot', root, '--workers', '1']);
  try {
    const r = await get(`http://127.0.0.1:${trustingNobody.port}/peer.php`, { headers: { 'X-Forwarded-For': '203.0.113.5' }, agent: false });
    assert.equal(r.body.toString().split(' ')[0], '127.0.0.1');
  } finally {
    trustingNobody.child.kill('SIGTERM');
    await trustingNobody.exited;
  }
});

test('the client address behind proxies, as nginx\'s realip with real_ip_recursive on', () => {
  const list = parseTrustedProxies('10.0.0.0/8, 192.168.1.1, ::1, fd00::/8');
  assert.equal(clientAddress(list, '203.0.113.1', '1.2.3.4', ''), '203.0.113.1', 'an untrusted peer is the client');
  assert.equal(clientAddress(list, '10.0.0.1', '1.2.3.4, 10.0.0.2', ''), '1.2.3.4');
  assert.equal(clientAddress(list, '::ffff:10.0.0.1', '1.2.3.4', ''), '1.2.3.4', 'an IPv4-mapped peer');
  assert.equal(clientAddress(list, '::1', '5.6.7.8, 9.9.9.9, fd00::1', ''), '9.9.9.9', 'the last untrusted one');
  assert.equal(clientAddress(list, '10.0.0.1', '10.0.0.3, 10.0.0.2', ''), '10.0.0.3', 'all trusted: the first');
  assert.equal(clientAddress(list, '10.0.0.1', 'garbage, 10.0.0.2', ''), '10.0.0.2', 'garbage stops the walk');
  assert.equal(clientAddress(list, '10.0.0.1', '', 'for=192.0.2.60;proto=http;by=203.0.113.43'), '192.0.2.60');
  assert.equal(clientAddress(list, '10.0.0.1', '', 'for="[2001:db8:cafe::17]:4711", for=10.0.0.9'), '2001:db8:cafe::17');
  assert.equal(clientAddress(list, '10.0.0.1', '', 'for="192.0.2.1:8080"'), '192.0.2.1');
  assert.equal(clientAddress(list, '10.0.0.1', '', ''), '10.0.0.1', 'nothing forwarded: the peer');
  assert.equal(clientAddress(list, 'unix:', '1.2.3.4', ''), 'unix:', 'a peer on a Unix socket is not trusted unless unix: is listed');
  const withUnix = parseTrustedProxies('unix:, 10.0.0.0/8');
  assert.equal(clientAddress(withUnix, 'unix:', '1.2.3.4, 10.0.0.2', ''), '1.2.3.4', 'unix: trusts peers on Unix sockets, as nginx\'s set_real_ip_from unix:');
  assert.equal(clientAddress(withUnix, 'unix:', '', ''), 'unix:', 'nothing forwarded: the peer');
  assert.equal(clientAddress(withUnix, '127.0.0.1', '1.2.3.4', ''), '127.0.0.1', 'and only them');
  for (const bad of ['10.0.0.0/33', 'example.com', '1.2.3.4/', '::1/129', '1.2.3.4/8/1', 'unix:/run/nginx.sock']) {
    assert.throws(() => parseTrustedProxies(bad), (err: Error) => err.message === bad);
  }
});

test('the rate table stays bounded after 200k distinct clients, and still limits the latest ones', () => {
  const { RateTable } = netAddon();
  const table = new RateTable(RateTable.create());
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 200_000; i++) table.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1 / 3600, 1);
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 8 * 1024 * 1024, `RSS grew ${grown} bytes (the table is 3.2 MiB, mapped once)`);
  assert.ok(table.take('10.3.13.63', 1 / 3600, 1) < 0, 'a recent client is still out of tokens');
  assert.equal(table.take('192.0.2.200', 1 / 3600, 5), 4, 'a new client starts full');
});
