#!/usr/bin/env node
// tokio-php against nginx + php-fpm, measured in one run with wrk on the same scripts and the
// same number of PHP workers, OPcache on in both. Prints req/s, p50, p99 and tokio-php's ratio.
//
//   node bench/run.mjs [--workers N] [--duration 10] [--connections 64] [--middleware off,default,all]
//                      [--scenarios hello,static] [--processes N]
//
// It also measures the HTTP layer alone, tokio-php's stub executor (no PHP, one process)
// against a bare uWebSockets.js hello server (bench/bare-uws.mjs), and the memory (RSS) of both
// servers' processes after the run.
//
// --middleware runs one tokio-php per variant in the same run: off (no internal port, no
// middleware), default (the internal port's metrics), all (metrics, ACCESS_LOG and COMPRESSION).
//
// p99 and p99.9 are the worse of the two measurements of each server (see main); wrk's
// percentiles come from bench/latency.lua.
// Needs root on Debian/Ubuntu: it installs wrk, nginx-light and php-fpm with apt-get if missing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const workers = Number(args.workers ?? os.availableParallelism());
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 64);
// tokio-php's server processes (PROCESSES); unset, its own default
const processes = args.processes === undefined ? [] : ['--processes', String(Number(args.processes))];
const work = '/tmp/tokio-bench';
const site = path.join(work, 'site');
const NGINX_PORT = 18082;
const TOKIO_PORT = 18083; // and up, one per middleware variant
const STUB_PORT = 18097;
const BARE_UWS_PORT = 18098;
const MIDDLEWARE = {
  off: { INTERNAL_ADDR: 'off' },
  default: { INTERNAL_ADDR: '127.0.0.1:0' },
  all: { INTERNAL_ADDR: '127.0.0.1:0', ACCESS_LOG: 'on', COMPRESSION: 'br,gzip' },
};
const variants = String(args.middleware ?? 'default').split(',');
for (const v of variants) if (!MIDDLEWARE[v]) throw new Error(`--middleware ${v}: expected off, default or all`);

// [name, path, php-fpm's path when it differs]: worker mode (site/worker/) against php-fpm on the
// classic script that does the same work
const SCENARIOS = [
  ['hello world', '/hello.php'],
  ['superglobals JSON', '/superglobals.php?a=1&b=2'],
  ['autoload 100 classes', '/bootstrap.php'],
  ['64 KB response', '/big.php'],
  ['1 KB static file', '/static.txt'],
  ['1 MB static file', '/static-1m.bin'],
  ['worker mode: hello world', '/worker/hello', '/hello.php'],
  ['worker mode: autoload 100 classes', '/worker/bootstrap', '/bootstrap.php'],
].filter(([name]) => !args.scenarios || String(args.scenarios).split(',').some((s) => name.startsWith(s)));

function sh(cmd, cmdArgs, opts = {}) {
  return execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function ensurePackages() {
  const fpm = readdirSync('/usr/sbin').find((f) => /^php-fpm\d+\.\d+$/.test(f));
  const missing = [];
  if (!existsSync('/usr/bin/wrk')) missing.push('wrk');
  if (!existsSync('/usr/sbin/nginx')) missing.push('nginx-light');
  if (!fpm) missing.push('php-fpm');
  if (missing.length) {
    console.error(`installing ${missing.join(' ')} with apt-get`);
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return readdirSync('/usr/sbin').find((f) => /^php-fpm\d+\.\d+$/.test(f));
}

function startPeer(fpmBinary) {
  const fpmConf = path.join(work, 'fpm.conf');
  writeFileSync(fpmConf, `[global]
pid = ${work}/fpm.pid
error_log = ${work}/fpm.log
daemonize = no
[www]
user = www-data
group = www-data
listen = ${work}/fpm.sock
listen.owner = www-data
listen.mode = 0666
listen.backlog = 4096
pm = static
pm.max_children = ${workers}
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.memory_consumption] = 256
`);
  const nginxConf = path.join(work, 'nginx.conf');
  writeFileSync(nginxConf, `worker_processes auto;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  client_body_temp_path ${work}/nginx-body;
  fastcgi_temp_path ${work}/nginx-fcgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${NGINX_PORT} backlog=4096;
    root ${site};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      try_files $fastcgi_script_name =404;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass unix:${work}/fpm.sock;
    }
  }
}
`);
  const fpm = spawn(`/usr/sbin/${fpmBinary}`, ['-F', '-y', fpmConf, '-c', `/etc/php/${fpmBinary.slice(7)}/fpm/php.ini`], { stdio: 'ignore' });
  const nginx = spawn('/usr/sbin/nginx', ['-c', nginxConf], { stdio: 'ignore' });
  return [fpm, nginx];
}

// Access log lines go to a file, as in production: the terminal would be the bottleneck. Each
// worker script gets `workers` threads of its own, and classic scripts keep `workers`.
function startTokio(variant, port) {
  return spawn(process.execPath, [path.join(here, '../dist/src/cli.js'), '--docroot', site, '--listen', `127.0.0.1:${port}`,
    '--workers', String(2 * workers), '--worker-threads', String(workers),
    '--worker', 'worker/hello.php=/worker/hello,worker/bootstrap.php=/worker/bootstrap',
    '--queue', '100000', '--log-file', path.join(work, `tokio-${variant}.log`), ...processes],
  { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'info', ...MIDDLEWARE[variant] } });
}

async function waitFor(port, urlPath) {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
      if (res.ok) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`nothing answers on port ${port}`);
}

function wrk(port, urlPath, seconds) {
  const out = sh('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', path.join(here, 'latency.lua'), `http://127.0.0.1:${port}${urlPath}`]);
  const [requests, durationUs, p50, p99, p999] = (/TOKIO-BENCH (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out) ?? []).slice(1).map(Number);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  return { rps: requests / (durationUs / 1e6), p50: p50 / 1000, p99: p99 / 1000, p999: p999 / 1000, errors: Number(errors) };
}

/** Resident memory of these processes and all their descendants, MiB. */
function rssMiB(pids) {
  const children = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch { return []; }
  };
  const all = new Set();
  const walk = (pid) => { if (!all.has(pid)) { all.add(pid); children(pid).forEach(walk); } };
  pids.forEach(walk);
  let kib = 0;
  for (const pid of all) {
    try { kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
  }
  return kib / 1024;
}

// nginx -v prints on stderr
const nginxVersion = () => /nginx\/[\d.]+/.exec(spawnSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8' }).stderr)?.[0] ?? 'nginx';

const fmtMs = (v) => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: php-fpm runs its workers as www-data');
  const fpmBinary = ensurePackages();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(path.join(here, 'site'), site, { recursive: true });
  writeFileSync(path.join(site, 'static-1m.bin'), randomBytes(1 << 20));
  const tokios = variants.map((v, i) => [v, TOKIO_PORT + i]);
  const peer = startPeer(fpmBinary);
  const tokioProcs = tokios.map(([v, port]) => startTokio(v, port));
  const procs = [...peer, ...tokioProcs];
  const stop = () => procs.forEach((p) => p.kill('SIGTERM'));
  process.on('exit', stop);
  await waitFor(NGINX_PORT, '/hello.php');
  for (const [, port] of tokios) await waitFor(port, '/hello.php');
  const phpVersion = sh(`/usr/sbin/${fpmBinary}`, ['-v']).split('\n')[0].replace(/ \(built:.*$/, '');

  const rows = [];
  for (const [name, urlPath, fpmPath = urlPath] of SCENARIOS) {
    const result = {};
    // Each server is measured twice, in order and then in reverse (A B C C B A), and the two
    // averaged: a machine whose speed drifts during a run favours no one.
    const servers = [...tokios.map(([v, port]) => [v, port, urlPath]), ['fpm', NGINX_PORT, fpmPath]];
    for (const [, port, p] of servers) wrk(port, p, 2); // warm up: OPcache, connections, JIT of the JS side
    const runs = {};
    for (const [server, port, p] of [...servers, ...[...servers].reverse()]) {
      (runs[server] ??= []).push(wrk(port, p, duration / 2));
    }
    for (const [server, [a, b]] of Object.entries(runs)) {
      result[server] = { rps: (a.rps + b.rps) / 2, p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99), p999: Math.max(a.p999, b.p999), errors: a.errors + b.errors };
    }
    for (const [v] of tokios) {
      rows.push([name, v, result[v], result.fpm]);
      console.error(`${name} (middleware ${v}): tokio-php ${result[v].rps.toFixed(0)} req/s, nginx+php-fpm ${result.fpm.rps.toFixed(0)} req/s`);
    }
  }
  const memory = { tokio: tokioProcs.map((p, i) => [tokios[i][0], rssMiB([p.pid])]), peer: rssMiB(peer.map((p) => p.pid)) };
  stop();

  // The HTTP layer alone, one JS thread each: the stub executor against bare uWebSockets.js.
  const layer = [
    ['stub', spawn(process.execPath, [path.join(here, '../dist/src/cli.js'), '--docroot', site, '--listen', `127.0.0.1:${STUB_PORT}`,
      '--processes', '1', '--executor', 'stub', '--internal', 'off', '--log-level', 'warn'], { stdio: 'ignore' }), STUB_PORT],
    ['uws', spawn(process.execPath, [path.join(here, 'bare-uws.mjs'), String(BARE_UWS_PORT)], { stdio: 'ignore' }), BARE_UWS_PORT],
  ];
  procs.push(...layer.map(([, p]) => p));
  for (const [, , port] of layer) await waitFor(port, '/hello.php');
  const http = {};
  for (const [name, , port] of layer) wrk(port, '/hello.php', 2);
  for (const [name, , port] of [...layer, ...[...layer].reverse()]) (http[name] ??= []).push(wrk(port, '/hello.php', duration / 2).rps);
  stop();
  const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;

  console.log(`\n${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`);
  console.log(`${workers} PHP workers each${processes.length ? `, tokio-php in ${processes[1]} server process(es)` : ''}; wrk -t2 -c${connections}, ${duration} s per server in two halves (A B … B A, averaged) on the same machine; peer: ${nginxVersion()} + ${phpVersion}\n`);
  console.log('| scenario | middleware | tokio-php req/s | p50 | p99 | p99.9 | nginx + php-fpm req/s | p50 | p99 | p99.9 | ratio |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, variant, tokio, fpm] of rows) {
    const bad = tokio.errors || fpm.errors ? ` (non-2xx: ${tokio.errors}/${fpm.errors})` : '';
    console.log(`| ${name} | ${variant} | ${tokio.rps.toFixed(0)} | ${fmtMs(tokio.p50)} | ${fmtMs(tokio.p99)} | ${fmtMs(tokio.p999)} | ${fpm.rps.toFixed(0)} | ${fmtMs(fpm.p50)} | ${fmtMs(fpm.p99)} | ${fmtMs(fpm.p999)} | ${(tokio.rps / fpm.rps).toFixed(2)}×${bad} |`);
  }
  const stub = avg(http.stub);
  const bare = avg(http.uws);
  console.log(`\nHTTP layer, one JS thread each, hello world: tokio-php's stub executor ${stub.toFixed(0)} req/s, bare uWebSockets.js ${bare.toFixed(0)} req/s: ${(100 * stub / bare).toFixed(0)} %`);
  console.log(`Memory (RSS, every process) after the run: ${memory.tokio.map(([v, mib]) => `tokio-php (${v}) ${mib.toFixed(0)} MiB`).join(', ')}; nginx + php-fpm ${memory.peer.toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
