// LISTEN_ADDR's addresses over real sockets: several at once, Unix sockets (their files, their
// permissions, what PHP sees on them) and nginx in front on one (proxy_pass http://unix:).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, CLI_ENV, startCli, type RunningCli } from './helpers/cli.js';
import { startNginx as startNginxWith } from './helpers/nginx.js';
import { get, type Reply } from './helpers/server.js';

const asRoot = process.getuid?.() === 0;
const id = (flag: string, user: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
const nobody = { uid: Number(id('-u', 'nobody')), gid: Number(id('-g', 'nobody')), group: id('-gn', 'nobody') };

// a site and a directory for the sockets that nobody (nginx's workers, USER=nobody) can enter
const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-listen-'));
chmodSync(dir, 0o755);
const site = path.join(dir, 'site');
mkdirSync(site);
// what PHP sees of a request, minus what differs from one request to the next
writeFileSync(path.join(site, 'dump.php'), `<?php
header('Content-Type: application/json');
$server = array_diff_key($_SERVER, array_flip(['REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'TRACE_ID', 'SPAN_ID', 'PARENT_SPAN_ID', 'REQUEST_ID']));
ksort($server);
echo json_encode(['server' => $server, 'get' => $_GET, 'post' => $_POST, 'body' => sha1(file_get_contents('php://input')),
  'sockets' => getenv('TOKIO_SOCKETS')]);
`);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let sockets = 0;
/** a new socket path in `dir` */
const socketPath = () => path.join(dir, `http-${++sockets}.sock`);

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, '--internal', 'off', '--docroot', site, ...args], { env: { ...CLI_ENV, ...env }, encoding: 'utf8', timeout: 20_000 });
}

async function stop(cli: RunningCli): Promise<void> {
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0, cli.output());
}

/** what dump.php answered, parsed, after checking the answer's status and headers */
function dumped(r: Reply): { server: Record<string, string>; get: unknown; post: unknown; body: string; sockets: string } {
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(Number(r.headers['content-length']), r.body.length);
  return JSON.parse(r.body.toString());
}

for (const [processes, httpThreads] of [[1, 2], [2, 1]]) {
  test(`two TCP ports and a Unix socket at once, PROCESSES=${processes}, HTTP_THREADS=${httpThreads}: each serves the script, PHP sees each connection's own ends`, async () => {
    const sock = socketPath();
    const cli = await startCli(['--docroot', site, '--workers', '2', '--processes', String(processes), '--http-threads', String(httpThreads),
      '--listen', `127.0.0.1:0, 127.0.0.1:0 ,unix:${sock}`]);
    try {
      assert.equal(cli.listen.length, 3, cli.output());
      const ports = cli.listen.slice(0, 2).map((url) => Number(/^http:\/\/127\.0\.0\.1:(\d+)$/.exec(url)![1]));
      assert.notEqual(ports[0], ports[1]);
      assert.equal(cli.listen[2], `http://unix:${sock}`);
      assert.equal(statSync(sock).mode & 0o7777, 0o660, 'LISTEN_SOCKET_MODE by default');
      const targets: { url: string; port: number; socketPath?: string }[] = [...ports.map((port) => ({ url: `http://127.0.0.1:${port}`, port })), { url: 'http://localhost', socketPath: sock, port: 0 }];
      // connections one after another and at once, so that every process and event loop takes some
      await Promise.all(targets.flatMap((target) => Array.from({ length: 6 }, async (_, i) => {
        const r = dumped(await get(`${target.url}/dump.php?n=${i}`, { agent: false, socketPath: target.socketPath }));
        assert.deepEqual(r.get, { n: String(i) });
        // the descriptors the supervisor handed over, by name: three listening sockets, then the board
        assert.equal(r.sockets, 'http=4,http=5,http=6,board=7');
        const { REMOTE_ADDR, REMOTE_PORT, SERVER_ADDR, SERVER_PORT } = r.server;
        if (target.socketPath) {
          // as nginx's $remote_addr, $server_addr and $server_port on a Unix socket
          assert.deepEqual({ REMOTE_ADDR, REMOTE_PORT, SERVER_ADDR, SERVER_PORT }, { REMOTE_ADDR: 'unix:', REMOTE_PORT: '', SERVER_ADDR: `unix:${sock}`, SERVER_PORT: '' });
        } else {
          assert.deepEqual({ REMOTE_ADDR, SERVER_ADDR, SERVER_PORT }, { REMOTE_ADDR: '127.0.0.1', SERVER_ADDR: '127.0.0.1', SERVER_PORT: String(target.port) });
          assert.match(REMOTE_PORT, /^\d+$/);
        }
      })));
      // open_connections counts kept-alive connections on every address, the Unix socket's too
      const agents = targets.map(() => new Agent({ keepAlive: true }));
      await Promise.all(targets.map((target, i) => Promise.all([1, 2].map(() => get(`${target.url}/dump.php`, { agent: agents[i], socketPath: target.socketPath })))));
      const metrics = (await get(`http://127.0.0.1:${cli.internalPort}/metrics`)).body.toString();
      const open = [...metrics.matchAll(/^tokio_php_open_connections\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(open, 6, metrics.split('\n').filter((l) => l.includes('open_connections')).join('\n'));
      for (const agent of agents) agent.destroy();
    } finally {
      await stop(cli);
    }
    assert.equal(existsSync(sock), false, 'the supervisor removes the socket file as it exits');
  });
}

test('curl --unix-socket: a GET with a query, a POST with a body and a request of 100 headers, answered exactly as on TCP', async () => {
  const sock = socketPath();
  const cli = await startCli(['--docroot', site, '--workers', '2', '--listen', `127.0.0.1:0,unix:${sock}`]);
  try {
    const curl = async (target: string[], args: string[]) => {
      const { stdout } = await promisify(execFile)('curl', ['-sS', '-i', ...target, ...args], { encoding: 'latin1' });
      const [head, body] = [stdout.slice(0, stdout.indexOf('\r\n\r\n')), stdout.slice(stdout.indexOf('\r\n\r\n') + 4)];
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      return dumped({ status: Number(statusLine.split(' ')[1]), headers, body: Buffer.from(body, 'latin1') });
    };
    const hundred = Array.from({ length: 100 }, (_, i) => ['-H', `X-Header-${i}: value ${i}`]).flat();
    const requests = [
      ['http://localhost/dump.php?a=1&b[]=2&b[]=3'],
      ['--data-binary', 'x=1&y=%C3%A9t%C3%A9&z[]=q', 'http://localhost/dump.php?form=1'],
      [...hundred, 'http://localhost/dump.php'],
    ];
    for (const args of requests) {
      const overUnix = await curl(['--unix-socket', sock], args);
      const overTcp = await curl([], [...args.slice(0, -1), args.at(-1)!.replace('localhost', `localhost:${cli.port}`)]);
      for (const side of [overUnix, overTcp]) {
        for (const key of ['REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_ADDR', 'SERVER_PORT', 'HTTP_HOST', 'SERVER_NAME']) delete side.server[key];
      }
      assert.deepEqual(overUnix, overTcp);
    }
    const [query, form, headers] = await Promise.all(requests.map((args) => curl(['--unix-socket', sock], args)));
    assert.deepEqual(query.get, { a: '1', b: ['2', '3'] });
    assert.deepEqual(form.post, { x: '1', y: 'été', z: ['q'] });
    assert.equal(form.body, execFileSync('sha1sum', { input: 'x=1&y=%C3%A9t%C3%A9&z[]=q', encoding: 'utf8' }).split(' ')[0]);
    assert.equal(form.server.REQUEST_METHOD, 'POST');
    assert.equal(form.server.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    for (let i = 0; i < 100; i++) assert.equal(headers.server[`HTTP_X_HEADER_${i}`], `value ${i}`);
    assert.equal(query.server.REMOTE_ADDR, 'unix:');
  } finally {
    await stop(cli);
  }
});

test('LISTEN_SOCKET_MODE, LISTEN_SOCKET_OWNER and LISTEN_SOCKET_GROUP are applied to the socket file', { skip: !asRoot && 'needs root' }, async () => {
  const sock = socketPath();
  const cli = await startCli(['--docroot', site, '--workers', '1', '--listen', `127.0.0.1:0,unix:${sock}`],
    { LISTEN_SOCKET_MODE: '0620', LISTEN_SOCKET_OWNER: 'nobody', LISTEN_SOCKET_GROUP: 'root' });
  try {
    const st = statSync(sock);
    assert.deepEqual({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, socket: st.isSocket() }, { mode: 0o620, uid: nobody.uid, gid: 0, socket: true });
    dumped(await get('http://localhost/dump.php', { socketPath: sock }));
  } finally {
    await stop(cli);
  }
});

// The server processes load tokio-php's code as USER: a clone nobody cannot read cannot run as nobody.
const cloneReadable = spawnSync('test', ['-r', CLI], { uid: nobody.uid, gid: nobody.gid }).status === 0;

test('USER=nobody: the socket file is nobody\'s by default, so a web server running as nobody connects', { skip: !asRoot ? 'needs root' : !cloneReadable && `nobody cannot read ${CLI}` }, async () => {
  const sock = socketPath();
  const cli = await startCli(['--docroot', site, '--workers', '1', '--listen', `127.0.0.1:0,unix:${sock}`], { USER: 'nobody' });
  try {
    const st = statSync(sock);
    assert.deepEqual({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, { mode: 0o660, uid: nobody.uid, gid: nobody.gid });
    // curl as nobody, as nginx's workers would connect
    const r = spawnSync('curl', ['-sS', '--unix-socket', sock, 'http://localhost/dump.php'], { uid: nobody.uid, gid: nobody.gid, encoding: 'utf8' });
    assert.equal(JSON.parse(r.stdout).server.REMOTE_ADDR, 'unix:', r.stderr);
  } finally {
    await stop(cli);
  }
});

test('a stale socket file (its server was killed) is replaced; a live one stops startup with a message, and is left alone', async () => {
  const sock = socketPath();
  // a server killed with SIGKILL leaves its file, where nothing listens any more
  const killed = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => killed.stdout.once('data', resolve));
  killed.kill('SIGKILL');
  await new Promise((resolve) => killed.once('exit', resolve));
  assert.ok(statSync(sock).isSocket());
  const cli = await startCli(['--docroot', site, '--workers', '1', '--listen', `127.0.0.1:0,unix:${sock}`]);
  try {
    assert.deepEqual(dumped(await get('http://localhost/dump.php?stale=replaced', { socketPath: sock })).get, { stale: 'replaced' });
    // while it serves, a second one on the same path is refused
    const second = run(['--listen', `unix:${sock}`]);
    assert.equal(second.status, 1);
    assert.equal(second.stderr, `tokio-php: cannot listen on unix:${sock} (LISTEN_ADDR): a server answers on it (another tokio-php?): stop it, or choose another path\n`);
    assert.equal((await get('http://localhost/dump.php', { socketPath: sock })).status, 200, 'the first still serves on it');
  } finally {
    await stop(cli);
  }
  // a live server that is not tokio-php
  const connections = new Set<Socket>();
  const other = createServer((c) => {
    connections.add(c.on('error', () => {})); // tokio-php's probe leaves at once
    c.end('HTTP/1.1 204 No Content\r\n\r\n');
  });
  await new Promise<void>((resolve) => other.listen(sock, resolve));
  try {
    const r = run(['--listen', `127.0.0.1:0,unix:${sock}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^tokio-php: cannot listen on unix:${sock} \\(LISTEN_ADDR\\): a server answers on it`));
    assert.equal((await get('http://localhost/', { socketPath: sock, agent: false })).status, 204, 'its socket is still there');
  } finally {
    for (const c of connections) c.destroy();
    await new Promise((resolve) => other.close(resolve));
  }
});

test('a Unix socket path that cannot be used stops startup with a message naming it and LISTEN_ADDR', () => {
  const file = path.join(dir, 'not-a-socket');
  writeFileSync(file, 'data');
  const cases: [string, string][] = [
    [path.join(dir, 'no/such/dir/http.sock'), 'its directory does not exist'],
    [file, 'the path exists and is not a socket'],
  ];
  for (const [where, why] of cases) {
    const r = run(['--listen', `127.0.0.1:0,unix:${where}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `tokio-php: cannot listen on unix:${where} (LISTEN_ADDR): ${why}\n`);
  }
  assert.equal(statSync(file).isFile(), true, 'the file is left as it was');
});

test('a directory the supervisor may not write to stops startup with a message naming the path and LISTEN_ADDR', { skip: !asRoot ? 'needs root' : !cloneReadable && `nobody cannot read ${CLI}` }, () => {
  // run as nobody from the start: dir is root's, mode 755
  const where = path.join(dir, 'denied.sock');
  const r = spawnSync(process.execPath, [CLI, '--internal', 'off', '--docroot', site, '--listen', `unix:${where}`],
    { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 20_000, uid: nobody.uid, gid: nobody.gid });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `tokio-php: cannot listen on unix:${where} (LISTEN_ADDR): Permission denied\n`);
});

test('LISTEN_SOCKET_OWNER that cannot be given (not root) names the variables', { skip: !asRoot ? 'needs root' : !cloneReadable && `nobody cannot read ${CLI}` }, () => {
  const sockDir = mkdtempSync(path.join(dir, 'nobody-'));
  execFileSync('chown', ['nobody', sockDir]);
  const where = path.join(sockDir, 'http.sock');
  const r = spawnSync(process.execPath, [CLI, '--internal', 'off', '--docroot', site, '--listen', `unix:${where}`],
    { env: { PATH: process.env.PATH ?? '', LISTEN_SOCKET_OWNER: 'root' }, encoding: 'utf8', timeout: 20_000, uid: nobody.uid, gid: nobody.gid });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `tokio-php: cannot give unix:${where} to its owner and group (LISTEN_SOCKET_OWNER, LISTEN_SOCKET_GROUP): Operation not permitted\n`);
  assert.equal(existsSync(where), false, 'the file it bound is removed again');
});

test('a bad LISTEN_ADDR entry or socket option stops startup with exit code 2, naming the variable and what it accepts', () => {
  const long = `/tmp/${'x'.repeat(103)}`;
  const cases: [Record<string, string>, string][] = [
    [{ LISTEN_ADDR: 'unix:relative.sock' }, 'LISTEN_ADDR="unix:relative.sock" is not valid: expected an absolute path after unix: (HOST:PORT, [IPv6]:PORT or unix:/absolute/path, several separated by commas, e.g. 0.0.0.0:8080 or 127.0.0.1:8080,unix:/run/tokio-php/http.sock, or off (FastCGI alone))'],
    [{ LISTEN_ADDR: `127.0.0.1:8080,unix:${long}` }, `LISTEN_ADDR="127.0.0.1:8080,unix:${long}" is not valid: "unix:${long}": a Unix socket path is at most 107 bytes long`],
    [{ LISTEN_ADDR: 'unix:/run/a.sock,unix:/run/a.sock' }, 'LISTEN_ADDR="unix:/run/a.sock,unix:/run/a.sock" is not valid: "unix:/run/a.sock": named twice'],
    [{ LISTEN_ADDR: '127.0.0.1:8080,localhost' }, 'LISTEN_ADDR="127.0.0.1:8080,localhost" is not valid: "localhost": expected HOST:PORT, [IPv6]:PORT or unix:/absolute/path, several separated by commas, e.g. 0.0.0.0:8080 or 127.0.0.1:8080,unix:/run/tokio-php/http.sock, or off (FastCGI alone)'],
    [{ LISTEN_ADDR: '127.0.0.1:8080', LISTEN_SOCKET_MODE: '0666' }, 'LISTEN_SOCKET_MODE applies to Unix sockets, and LISTEN_ADDR has no unix: address'],
    [{ LISTEN_ADDR: '127.0.0.1:8080', LISTEN_SOCKET_OWNER: 'nobody', LISTEN_SOCKET_GROUP: 'nogroup' }, 'LISTEN_SOCKET_OWNER, LISTEN_SOCKET_GROUP apply to Unix sockets, and LISTEN_ADDR has no unix: address'],
    [{ LISTEN_ADDR: `unix:${dir}/a.sock`, LISTEN_SOCKET_MODE: '0888' }, 'LISTEN_SOCKET_MODE="0888" is not valid: expected an octal mode from 000 to 777, e.g. 0660 or 0666'],
    [{ LISTEN_ADDR: `unix:${dir}/a.sock`, LISTEN_SOCKET_OWNER: 'no-such-user-tokio' }, 'LISTEN_SOCKET_OWNER="no-such-user-tokio" is not valid: no such user on this system (expected a user name or uid)'],
    [{ LISTEN_ADDR: `unix:${dir}/a.sock`, LISTEN_SOCKET_GROUP: 'no-such-group-tokio' }, 'LISTEN_SOCKET_GROUP="no-such-group-tokio" is not valid: no such group on this system (expected a group name or gid)'],
  ];
  for (const [env, message] of cases) {
    const r = spawnSync(process.execPath, [CLI, '--internal', 'off', '--docroot', site], { env: { ...CLI_ENV, ...env }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, JSON.stringify(env));
    assert.equal(r.stderr, `tokio-php: ${message}\n`);
  }
  assert.equal(existsSync(`${dir}/a.sock`), false);
});

/**
 * nginx (Debian's nginx-light) on two loopback ports: `unix` proxies to `socket`, `tcp` to `port`, with
 * the same configuration: HTTP/1.1 on kept-alive connections, as the README advises, and under
 * /close/ nginx's defaults.
 */
async function startNginx(socket: string, port: number): Promise<{ unix: number; tcp: number; stop(): Promise<void> }> {
  // `upstream`: a pool of kept-alive connections; `direct`: the same address in proxy_pass itself
  const server = (listen: number, upstream: string, direct: string) => `
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
    # nginx's defaults: HTTP/1.0, a connection per request (never one of the pool's: nginx would
    # send HTTP/1.0 on a kept-alive uWS connection, which uWS answers with its own 505)
    location /close/ {
      proxy_pass http://${direct}/;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }`;
  // started as root, its workers run as nobody
  const nginx = await startNginxWith(dir, 2, ([unix, tcp]) => `
  large_client_header_buffers 4 16k;
  upstream over_unix { server unix:${socket}; keepalive 4; }
  upstream over_tcp { server 127.0.0.1:${port}; keepalive 4; }
  ${server(unix, 'over_unix', `unix:${socket}:`)}
  ${server(tcp, 'over_tcp', `127.0.0.1:${port}`)}`, asRoot ? `user nobody ${nobody.group};` : '');
  const [unix, tcp] = nginx.ports;
  return { unix, tcp, stop: nginx.stop };
}

test('behind nginx on a Unix socket (proxy_pass http://unix:), PHP sees what it sees behind nginx on TCP; X-Forwarded-For names the client', { skip: !existsSync('/usr/sbin/nginx') && 'needs nginx (nginx-light)' }, async () => {
  const sock = socketPath();
  // nginx's workers run as nobody when it starts as root: the socket's group lets them in
  const cli = await startCli(['--docroot', site, '--workers', '2', '--listen', `127.0.0.1:0,unix:${sock}`],
    { TRUSTED_PROXIES: '127.0.0.1,unix:', ...asRoot ? { LISTEN_SOCKET_GROUP: nobody.group } : {} });
  const nginx = await startNginx(sock, cli.port);
  try {
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`X-Header-${i}`, `value ${i}`]));
    const requests: [string, Parameters<typeof get>[1]][] = [
      ['/dump.php?a=1&b[]=2&b[]=3', { headers: { 'X-Forwarded-For': '198.51.100.23' } }],
      ['/dump.php?form=1', { method: 'POST', body: 'x=1&y=%C3%A9t%C3%A9', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': '198.51.100.23' } }],
      // a later request on a kept-alive uWS connection gets uWS's 431 beyond 97 headers (README, known gaps)
      ['/close/dump.php', { headers: { ...hundred, 'X-Forwarded-For': '198.51.100.23' } }],
    ];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const [url, options] of requests) {
      const overUnix = dumped(await get(`http://127.0.0.1:${nginx.unix}${url}`, { ...options, agent }));
      const overTcp = dumped(await get(`http://127.0.0.1:${nginx.tcp}${url}`, { ...options, agent }));
      // the ends of the connection from nginx: its Unix socket's, as nginx names them, or TCP's
      assert.deepEqual([overUnix.server.REMOTE_PORT, overUnix.server.SERVER_ADDR, overUnix.server.SERVER_PORT], ['', `unix:${sock}`, '']);
      assert.deepEqual([overTcp.server.SERVER_ADDR, overTcp.server.SERVER_PORT], ['127.0.0.1', String(cli.port)]);
      assert.match(overTcp.server.REMOTE_PORT, /^\d+$/);
      for (const side of [overUnix, overTcp]) {
        for (const key of ['REMOTE_PORT', 'SERVER_ADDR', 'SERVER_PORT']) delete side.server[key];
      }
      assert.deepEqual(overUnix, overTcp);
      // the client behind both proxies, nginx (trusted as unix: or 127.0.0.1) and the one that sent X-Forwarded-For
      assert.equal(overUnix.server.REMOTE_ADDR, '198.51.100.23');
      assert.equal(overUnix.server.HTTP_X_FORWARDED_FOR, '198.51.100.23, 127.0.0.1');
      assert.equal(overUnix.server.HTTP_X_REAL_IP, '127.0.0.1');
      assert.equal(overUnix.server.HTTP_HOST, '127.0.0.1', "nginx's $host");
    }
    const [query, form, headers] = await Promise.all(requests.map(([url, options]) => get(`http://127.0.0.1:${nginx.unix}${url}`, { ...options, agent: false }).then(dumped)));
    assert.deepEqual(query.get, { a: '1', b: ['2', '3'] });
    assert.deepEqual(form.post, { x: '1', y: 'été' });
    assert.equal(form.server.SERVER_PROTOCOL, 'HTTP/1.1');
    for (let i = 0; i < 100; i++) assert.equal(headers.server[`HTTP_X_HEADER_${i}`], `value ${i}`);
    assert.deepEqual([headers.server.SERVER_PROTOCOL, headers.server.REQUEST_URI], ['HTTP/1.0', '/dump.php']);
    agent.destroy();
  } finally {
    await nginx.stop();
    await stop(cli);
  }
});
