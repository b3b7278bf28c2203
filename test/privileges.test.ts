// Privileges as php-fpm: started as root, the supervisor binds the sockets and the server
// processes run PHP as USER (GROUP), or refuse to run it as root unless ALLOW_RUN_AS_ROOT=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/package.js';
import { CLI, startCli, type RunningCli } from './helpers/cli.js';
import { get } from './helpers/server.js';

const asRoot = process.getuid?.() === 0;
const id = (flag: string, user: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
const nobody = { uid: Number(id('-u', 'nobody')), gid: Number(id('-g', 'nobody')), groups: id('-G', 'nobody').split(' ').map(Number) };

// a document root of its own that any user can read (the fixtures' may sit in a clone only root can enter)
const site = mkdtempSync(path.join(os.tmpdir(), 'tokio-priv-'));
chmodSync(site, 0o755);
writeFileSync(path.join(site, 'who.php'), `<?php
$status = array_values(preg_grep('/^(Uid|Gid|Groups):/', file('/proc/thread-self/status', FILE_IGNORE_NEW_LINES)));
echo json_encode(['uid' => posix_getuid(), 'euid' => posix_geteuid(), 'gid' => posix_getgid(), 'egid' => posix_getegid(),
  'groups' => posix_getgroups(), 'status' => $status, 'opcache' => (bool) (opcache_get_status(false)['opcache_enabled'] ?? false),
  'body' => md5(file_get_contents('php://input'))]);
`);
writeFileSync(path.join(site, 'worker.php'), `<?php
$boot = posix_getuid();
while (tokio_handle_request(function () use ($boot) { echo json_encode(['boot' => $boot, 'uid' => posix_getuid()]); })) {}
`);
// readable by root only: what USER cannot read
const secret = mkdtempSync(path.join(os.tmpdir(), 'tokio-priv-secret-'));
process.on('exit', () => {
  rmSync(site, { recursive: true, force: true });
  rmSync(secret, { recursive: true, force: true });
});

/** The CLI run to its end, with exactly `env` (no ALLOW_RUN_AS_ROOT unless given). */
function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--internal', 'off', '--docroot', site, ...args],
    { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
}

// The server processes load tokio-php's code as USER: a clone in root's home (mode 700) is out of
// nobody's reach, and the server then refuses to start (the last test below shows how).
const cloneReadable = spawnSync('test', ['-r', path.join(PACKAGE_ROOT, 'package.json')], { uid: nobody.uid, gid: nobody.gid }).status === 0;
const serving = !asRoot ? 'needs root' : !cloneReadable ? `nobody cannot read ${PACKAGE_ROOT}` : false;

const REFUSED = 'PHP will not run as root. Set USER=<name> (and GROUP=<group>, default the user\'s primary group) to run PHP as that user, '
  + 'as php-fpm\'s user and group do, or ALLOW_RUN_AS_ROOT=1 to run it as root\n';

test('started as root without USER or ALLOW_RUN_AS_ROOT, the CLI refuses to run PHP: exit 2, naming USER, GROUP and ALLOW_RUN_AS_ROOT', { skip: !asRoot && 'needs root' }, () => {
  for (const env of [{}, { ALLOW_RUN_AS_ROOT: '0' }] as Record<string, string>[]) {
    const r = run([], env);
    assert.equal(r.status, 2, JSON.stringify(env));
    assert.equal(r.stderr, `tokio-php: started as root without USER: ${REFUSED}`);
    assert.equal(r.stdout, '');
  }
  // USER=root, as a root shell's environment has it, is no permission: php-fpm's `user = root` needs -R too
  for (const [env, args] of [[{ USER: 'root' }, []], [{}, ['--user', '0']]] as [Record<string, string>, string[]][]) {
    const r = run(args, env);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `tokio-php: USER=${env.USER ?? '0'} is root: ${REFUSED}`);
  }
});

test('USER, GROUP and ALLOW_RUN_AS_ROOT: a bad value stops startup with exit code 2, naming the variable', { skip: !asRoot && 'needs root' }, () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(secret, 'key.pem'),
    '-out', path.join(secret, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  chmodSync(secret, 0o755);
  chmodSync(path.join(secret, 'key.pem'), 0o600);
  // a clone nobody cannot enter (in /root) is named first
  const install = cloneReadable ? '' : `read the tokio-php installation ${PACKAGE_ROOT}, `;
  const cases: [Record<string, string>, string[], string][] = [
    [{ USER: 'no-such-user-tokio' }, [], 'USER="no-such-user-tokio" is not valid: no such user on this system (expected a user name or uid)'],
    [{}, ['--user', 'nobody', '--group', 'no-such-group-tokio'], 'GROUP="no-such-group-tokio" is not valid: no such group on this system (expected a group name or gid)'],
    [{ USER: 'bad name' }, [], 'USER="bad name" is not valid: expected a user name or uid'],
    [{ GROUP: 'nogroup' }, [], 'GROUP needs USER: set USER too (the user PHP runs as)'],
    [{ ALLOW_RUN_AS_ROOT: 'yes' }, [], 'ALLOW_RUN_AS_ROOT="yes" is not valid: expected 1 or 0'],
    [{ USER: 'nobody', TLS_CERT: path.join(secret, 'cert.pem'), TLS_KEY: path.join(secret, 'key.pem') }, [],
      `USER=nobody cannot ${install}read TLS_KEY ${secret}/key.pem: give nobody access, or set USER=<name> (a user who can ${install}read TLS_KEY ${secret}/key.pem)`],
  ];
  for (const [env, args, message] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 2, JSON.stringify(env) + args.join(' '));
    assert.equal(r.stderr, `tokio-php: ${message}\n`);
  }
  chmodSync(secret, 0o700);
  const r = run(['--docroot', secret], { USER: 'nobody' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^tokio-php: USER=nobody cannot read DOCUMENT_ROOT ${secret}(, |:)`));
});

/** The CLI on a port below 1024 (only root may bind one): a free one picked at random from 600 to 1000. */
async function startOnLowPort(args: string[], env: Record<string, string>): Promise<RunningCli & { lowPort: number }> {
  for (let attempt = 0; ; attempt++) {
    const lowPort = 600 + Math.floor(Math.random() * 401);
    try {
      const cli = await startCli(['--docroot', site, ...args, '--listen', `127.0.0.1:${lowPort}`], env);
      assert.equal(cli.port, lowPort);
      return { ...cli, lowPort };
    } catch (err) {
      if (attempt < 10 && /Address already in use/.test(String(err))) continue;
      throw err;
    }
  }
}

async function who(port: number, body?: Buffer) {
  const r = await get(`http://127.0.0.1:${port}/who.php`, body ? { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } } : {});
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString());
}

const asNobody = (body = '') => ({
  uid: nobody.uid, euid: nobody.uid, gid: nobody.gid, egid: nobody.gid, groups: nobody.groups,
  status: [`Uid:\t${nobody.uid}\t${nobody.uid}\t${nobody.uid}\t${nobody.uid}`, `Gid:\t${nobody.gid}\t${nobody.gid}\t${nobody.gid}\t${nobody.gid}`,
    `Groups:\t${nobody.groups.join(' ')} `], // the kernel ends the list with a space
  opcache: true, body: md5(body),
});

function md5(data: string | Buffer): string {
  return execFileSync('md5sum', { input: data, encoding: 'utf8' }).split(' ')[0];
}

for (const [processes, httpThreads] of [[1, 2], [2, 1]]) {
  test(`USER=nobody on PROCESSES=${processes}, HTTP_THREADS=${httpThreads}: a port below 1024 serves, PHP (classic, worker script, the metrics' script) runs as nobody for good`, { skip: serving }, async () => {
    const cli = await startOnLowPort(['--processes', String(processes), '--http-threads', String(httpThreads), '--workers', '2',
      '--worker', 'worker.php=/worker', '--worker-threads', String(processes), '--body-buffer', '1k'], { USER: 'nobody' });
    try {
      assert.match(cli.output(), /"user":"nobody:nogroup"/);
      for (let i = 0; i < 4; i++) assert.deepEqual(await who(cli.port), asNobody());
      // a body larger than BODY_BUFFER_SIZE waits in a file in TMPDIR, written and read as nobody
      const big = Buffer.alloc(256 * 1024, 'tokio');
      assert.deepEqual(await who(cli.port, big), asNobody(big.toString()));
      const worker = await get(`http://127.0.0.1:${cli.port}/worker`);
      assert.equal(worker.body.toString(), JSON.stringify({ boot: nobody.uid, uid: nobody.uid }));
      // the internal port, served by the supervisor, sums what each process's PHP reports
      const metrics = (await get(`http://127.0.0.1:${cli.internalPort}/metrics`)).body.toString();
      assert.match(metrics, /^tokio_php_opcache_cached_scripts\{process="0"\} [1-9]\d*$/m);
      // the server processes themselves, from the outside
      for (const pid of execFileSync('pgrep', ['-P', String(cli.child.pid)], { encoding: 'utf8' }).trim().split('\n')) {
        assert.equal(execFileSync('ps', ['-o', 'uid=', '-p', pid], { encoding: 'utf8' }).trim(), String(nobody.uid));
      }
    } finally {
      cli.child.kill('SIGTERM');
    }
    assert.equal(await cli.exited, 0);
  });
}

test('GROUP sets the group (and the supplementary groups are the user\'s with it, as initgroups makes them)', { skip: serving }, async () => {
  const daemon = Number(execFileSync('getent', ['group', 'daemon'], { encoding: 'utf8' }).split(':')[2]);
  const cli = await startCli(['--docroot', site, '--processes', '1', '--workers', '1'], { USER: 'nobody', GROUP: 'daemon' });
  try {
    const me = await who(cli.port);
    assert.deepEqual([me.uid, me.gid, me.egid, me.groups], [nobody.uid, daemon, daemon, [daemon]]);
  } finally {
    cli.child.kill('SIGTERM');
  }
  assert.equal(await cli.exited, 0);
});

test('ALLOW_RUN_AS_ROOT=1 runs PHP as root, and says so in the log', { skip: !asRoot && 'needs root' }, async () => {
  const cli = await startOnLowPort(['--processes', '1', '--workers', '1'], { ALLOW_RUN_AS_ROOT: '1' });
  try {
    const me = await who(cli.port);
    assert.deepEqual([me.uid, me.euid, me.gid, me.egid], [0, 0, 0, 0]);
    assert.match(cli.output(), /"level":40,[^\n]*"msg":"PHP runs as root \(ALLOW_RUN_AS_ROOT=1\): set USER to run it as an unprivileged user"/);
    assert.match(cli.output(), /"user":"root"/);
  } finally {
    cli.child.kill('SIGTERM');
  }
  assert.equal(await cli.exited, 0);
});

test('npm start as root picks an unprivileged user who can read the site, or says exactly what to set', { skip: serving }, async () => {
  const npm = { npm_lifecycle_event: 'start', npm_package_name: 'tokio-php', ALLOW_RUN_AS_ROOT: '0' };
  const user = spawnSync('getent', ['passwd', 'www-data']).status === 0 ? 'www-data' : 'nobody';
  const uid = Number(id('-u', user));
  const cli = await startCli(['--docroot', site, '--processes', '1', '--workers', '1'], { ...npm, USER: 'root' });
  try {
    assert.equal((await who(cli.port)).uid, uid);
    assert.match(cli.output(), new RegExp(`"msg":"npm start as root: PHP runs as ${user} \\(USER=<name> chooses the user, ALLOW_RUN_AS_ROOT=1 runs PHP as root\\)"`));
  } finally {
    cli.child.kill('SIGTERM');
  }
  assert.equal(await cli.exited, 0);
  // a site only root can enter (a clone in root's home): no user fits, and the message says what to set
  chmodSync(secret, 0o700);
  const r = run(['--docroot', secret], npm);
  assert.equal(r.status, 2);
  assert.ok(r.stderr.startsWith(`tokio-php: started as root without USER, and PHP will not run as root; ${user === 'www-data' ? 'www-data or nobody' : 'nobody'} cannot read DOCUMENT_ROOT ${secret}`), r.stderr);
  assert.ok(r.stderr.endsWith(`: set USER=<name> (a user who can read DOCUMENT_ROOT ${secret}) or ALLOW_RUN_AS_ROOT=1\n`), r.stderr);
});

test('LOG_FILE is given to USER, so that every process and event loop writes to the new file after SIGUSR1', { skip: serving }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-priv-log-'));
  chmodSync(dir, 0o755); // root's, as /var/log: nobody may not create files in it
  const log = path.join(dir, 'tokio.log');
  writeFileSync(path.join(site, 'log.php'), '<?php error_log("marker " . $_GET["m"]); echo "logged";');
  const cli = await startCli(['--docroot', site, '--processes', '2', '--workers', '2', '--http-threads', '2'], { USER: 'nobody', LOG_FILE: log }, log);
  try {
    assert.equal(statSync(log).uid, nobody.uid);
    renameSync(log, `${log}.1`);
    cli.child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(statSync(log).uid, nobody.uid);
    // new connections, spread by the kernel over both processes and their event loops
    for (let i = 0; i < 24; i++) assert.equal((await get(`http://127.0.0.1:${cli.port}/log.php?m=${i}`, { agent: false })).body.toString(), 'logged');
    await new Promise((r) => setTimeout(r, 500)); // the log is written off the event loop
    const text = readFileSync(log, 'utf8');
    for (let i = 0; i < 24; i++) assert.match(text, new RegExp(`"msg":"marker ${i}"`));
    assert.doesNotMatch(readFileSync(`${log}.1`, 'utf8'), /"msg":"marker /);
    // and every process and loop served: its lines are in the new file
    assert.deepEqual(new Set([...text.matchAll(/"process":(\d)/g)].map((m) => m[1])), new Set(['0', '1']));
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
