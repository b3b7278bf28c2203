// PostgreSQL's drivers are in the default build: pdo_pgsql over TCP and pgsql over a Unix socket,
// against a real PostgreSQL server (Debian's) started for this file in a throwaway cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { get, startServer, type Running } from './helpers/server.js';

/** The directory of Debian's PostgreSQL server programs (initdb, pg_ctl): the newest installed. */
function postgresBin(): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(`${bin}/initdb`) && existsSync(`${bin}/pg_ctl`)) return bin;
  }
  throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql/*/bin: apt-get install postgresql (test/tools/install.sh does it as root)');
}

/** PostgreSQL refuses to run as root: as root, its programs run as `postgres` (or `nobody`). */
function asServerUser(): { uid: number; gid: number; prefix: string[] } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    let ids: number[];
    try {
      ids = ['-u', '-g'].map((o) => Number(execFileSync('id', [o, user], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()));
    } catch {
      continue; // no such user
    }
    return { uid: ids[0], gid: ids[1], prefix: ['runuser', '-u', user, '--'] };
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-pgsql-'));
const cluster = path.join(tmp, 'cluster');
const socketDir = path.join(tmp, 'socket');
const docroot = path.join(tmp, 'site');
let run: (program: string, args: string[]) => string;
let pgCtl: string;
let started = false;
let port: number;
let engine: Engine;
let site: Running;

before(async () => {
  const bin = postgresBin();
  pgCtl = `${bin}/pg_ctl`;
  const user = asServerUser();
  mkdirSync(socketDir);
  if (user) {
    chownSync(tmp, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  chmodSync(tmp, 0o755);
  run = (program, args) => {
    const [cmd, ...rest] = [...(user?.prefix ?? []), program, ...args];
    return execFileSync(cmd, rest, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  };
  run(`${bin}/initdb`, ['-D', cluster, '-U', 'tokio', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  port = await freePort();
  run(pgCtl, ['-D', cluster, '-l', path.join(tmp, 'postgres.log'), '-w', '-t', '60', 'start',
    '-o', `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -F`]);
  started = true;

  mkdirSync(docroot);
  writeFileSync(path.join(docroot, 'loaded.php'), `<?php
echo json_encode(['pdo_pgsql' => extension_loaded('pdo_pgsql'), 'pgsql' => extension_loaded('pgsql'),
  'drivers' => PDO::getAvailableDrivers()]);
`);
  writeFileSync(path.join(docroot, 'pdo.php'), `<?php
$db = new PDO('pgsql:host=127.0.0.1;port=${port};dbname=postgres', 'tokio', '', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$two = $db->query('SELECT 1+1 AS two')->fetchColumn();
$db->exec('CREATE TEMP TABLE notes (id serial PRIMARY KEY, body text)');
$insert = $db->prepare('INSERT INTO notes (body) VALUES (?) RETURNING id');
$insert->execute([$_GET['note'] ?? '']);
$id = $insert->fetchColumn();
$body = $db->query("SELECT body FROM notes WHERE id = $id")->fetchColumn();
echo json_encode(['two' => $two, 'id' => $id, 'body' => $body,
  'server' => $db->getAttribute(PDO::ATTR_SERVER_VERSION) !== '' ]);
`);
  writeFileSync(path.join(docroot, 'pgsql.php'), `<?php
$db = pg_connect('host=${socketDir} port=${port} dbname=postgres user=tokio');
$r = pg_query_params($db, 'SELECT $1::int * 21 AS answer, current_user AS who', [2]);
$row = pg_fetch_assoc($r);
echo json_encode(['answer' => $row['answer'], 'who' => $row['who'], 'status' => pg_connection_status($db) === PGSQL_CONNECTION_OK]);
`);
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: docroot });
});

after(async () => {
  await site?.close();
  await engine?.shutdown();
  if (started) run(pgCtl, ['-D', cluster, '-m', 'immediate', 'stop']);
  rmSync(tmp, { recursive: true, force: true });
});

test('pdo_pgsql and pgsql are loaded', async () => {
  const r = await get(`${site.base}/loaded.php`);
  assert.equal(r.status, 200, r.body.toString());
  const body = JSON.parse(r.body.toString());
  assert.equal(body.pdo_pgsql, true);
  assert.equal(body.pgsql, true);
  assert.ok(body.drivers.includes('pgsql'), body.drivers.join(','));
});

test('PDO over TCP: a query, a temporary table and a prepared insert on a real PostgreSQL', async () => {
  const r = await get(`${site.base}/pdo.php?note=${encodeURIComponent('héllo, ünïcode')}`);
  assert.equal(r.status, 200, r.body.toString());
  assert.deepEqual(JSON.parse(r.body.toString()), { two: 2, id: 1, body: 'héllo, ünïcode', server: true });
});

test('pg_connect over the Unix socket and pg_query_params, on both PHP threads', async () => {
  const replies = await Promise.all([1, 2, 3, 4].map(() => get(`${site.base}/pgsql.php`)));
  for (const r of replies) {
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(JSON.parse(r.body.toString()), { answer: '42', who: 'tokio', status: true });
  }
});
