// What the benches share: their options, the site under /tmp/tokio-bench, the tools they install,
// and the two servers they compare, tokio-php (dist/src/cli.js) and nginx + php-fpm (Debian's
// packages) with the same number of PHP workers and OPcache on in both.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = path.dirname(fileURLToPath(import.meta.url));
export const work = '/tmp/tokio-bench';
export const site = path.join(work, 'site');
export const NGINX_PORT = 18082;
export const TOKIO_PORT = 18083;

/** `--name value …` on the command line, as { name: value }. */
export const parseArgs = (argv = process.argv.slice(2)) =>
  Object.fromEntries(argv.join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));

/** tokio-php's environment for each --middleware variant. */
export const MIDDLEWARE = {
  off: { INTERNAL_ADDR: 'off' },
  default: { INTERNAL_ADDR: '127.0.0.1:0' },
  all: { INTERNAL_ADDR: '127.0.0.1:0', ACCESS_LOG: 'on', COMPRESSION: 'br,gzip' },
};

// [name, path, php-fpm's path when it differs]: worker mode (site/worker/) against php-fpm on the
// classic script that does the same work
export const SCENARIOS = [
  ['hello world', '/hello.php'],
  ['superglobals JSON', '/superglobals.php?a=1&b=2'],
  ['autoload 100 classes', '/bootstrap.php'],
  ['64 KB response', '/big.php'],
  ['1 KB static file', '/static.txt'],
  ['1 MB static file', '/static-1m.bin'],
  ['worker mode: hello world', '/worker/hello', '/hello.php'],
  ['worker mode: autoload 100 classes', '/worker/bootstrap', '/bootstrap.php'],
];

/** The scenarios whose name starts with one of --scenarios' comma-separated prefixes, all without it. */
export const pickScenarios = (list, filter) =>
  list.filter(([name]) => !filter || String(filter).split(',').some((s) => name.startsWith(s)));

export function sh(cmd, cmdArgs, opts = {}) {
  return execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

const fpmBinary = () => readdirSync('/usr/sbin').find((f) => /^php-fpm\d+\.\d+$/.test(f));

/**
 * Installs nginx-light, php-fpm and the client tools ({ binary path: Debian package }) with
 * apt-get when missing; returns php-fpm's binary name (php-fpmX.Y).
 */
export function ensurePackages(tools) {
  const missing = Object.entries(tools).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
  if (!existsSync('/usr/sbin/nginx')) missing.push('nginx-light');
  if (!fpmBinary()) missing.push('php-fpm');
  if (missing.length) {
    console.error(`installing ${missing.join(' ')} with apt-get`);
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return fpmBinary();
}

/** A fresh /tmp/tokio-bench/site: bench/site and a 1 MB random file. */
export function prepareSite() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(path.join(here, 'site'), site, { recursive: true });
  writeFileSync(path.join(site, 'static-1m.bin'), randomBytes(1 << 20));
}

/** php-fpm, pm = static with `workers` children and OPcache on, on the Unix socket ${work}/fpm.sock. */
export function startFpm(fpm, workers) {
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
  return spawn(`/usr/sbin/${fpm}`, ['-F', '-y', fpmConf, '-c', `/etc/php/${fpm.slice(7)}/fpm/php.ini`], { stdio: 'ignore' });
}

/**
 * php-fpm (pm = static, `workers` children) behind nginx on NGINX_PORT: [fpm, nginx]. With `tls`
 * ({ port, cert, key }), nginx also serves HTTP/2 over TLS (and HTTP/1.1 by ALPN) on `tls.port`.
 */
export function startPeer(fpm, workers, tls) {
  const nginx = startNginx(`
  server {
    listen 127.0.0.1:${NGINX_PORT} backlog=4096;
${tls ? `    listen 127.0.0.1:${tls.port} ssl http2 backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
` : ''}    ${phpLocation(`unix:${work}/fpm.sock`)}
  }`);
  return [startFpm(fpm, workers), nginx];
}

/**
 * One nginx in front of php-fpm and of tokio-php over FastCGI, with the same location block to each
 * over a Unix socket: php-fpm on `fpmPort`, tokio-php (FastCGI alone, `workers` PHP threads,
 * `processes` the CLI's ['--processes', N] or []) on `tokioPort`. `keepConn`: nginx keeps its
 * upstream connections (fastcgi_keep_conn and a keepalive pool of 64); without, a connection per
 * request, php-fpm's usual setup.
 */
export function startFastCgiPeers(fpm, workers, { fpmPort, tokioPort, log, processes = [], keepConn = true }) {
  const tokio = spawn(process.execPath, [path.join(here, '../dist/src/cli.js'), '--docroot', site, '--listen', 'off',
    '--workers', String(workers), '--fastcgi-listen', `unix:${work}/tokio.sock`, '--fastcgi-socket-mode', '0666',
    '--internal', 'off', '--queue', '100000', '--log-file', log, ...processes],
  { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn', ALLOW_RUN_AS_ROOT: '1' } });
  const location = (upstream) => phpLocation(upstream, keepConn ? '\n      fastcgi_keep_conn on;' : '');
  const keepalive = keepConn ? ' keepalive 64;' : '';
  const nginx = startNginx(`
  upstream fpm { server unix:${work}/fpm.sock;${keepalive} }
  upstream tokio { server unix:${work}/tokio.sock;${keepalive} }
  server { listen 127.0.0.1:${fpmPort} backlog=4096; ${location('fpm')} }
  server { listen 127.0.0.1:${tokioPort} backlog=4096; ${location('tokio')} }`);
  return { fpm: startFpm(fpm, workers), tokio, nginx };
}

/** nginx's usual php-fpm location under `site`, passing to `pass` (`extra`: more directives in it). */
export function phpLocation(pass, extra = '') {
  return `root ${site};
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      try_files $fastcgi_script_name =404;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass ${pass};${extra}
    }`;
}

/** nginx with `servers` (its upstream and server blocks) in its http block, files under `work`. */
export function startNginx(servers) {
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
${servers}
}
`);
  return spawn('/usr/sbin/nginx', ['-c', nginxConf], { stdio: 'ignore' });
}

/**
 * tokio-php on `port` with `workers` PHP workers for classic scripts and, with `workerMode`, as
 * many again for the worker scripts (site/worker/), `workers` threads each; `processes` is the
 * CLI's ['--processes', N] or []. Access log lines go to a file, as in production: the terminal
 * would be the bottleneck.
 */
export function startTokio({ port, workers, processes, log, env, workerMode = true }) {
  const threads = workerMode
    ? ['--workers', String(2 * workers), '--worker-threads', String(workers),
      '--worker', 'worker/hello.php=/worker/hello,worker/bootstrap.php=/worker/bootstrap']
    : ['--workers', String(workers)];
  return spawn(process.execPath, [path.join(here, '../dist/src/cli.js'), '--docroot', site, '--listen', `127.0.0.1:${port}`,
    ...threads, '--queue', '100000', '--log-file', log, ...processes],
  { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'info', ALLOW_RUN_AS_ROOT: '1', ...env } });
}

/** wrk -t2 with `connections` for `seconds` on `urlPath`: req/s, p50/p99/p99.9 in ms (bench/latency.lua), non-2xx answers. */
export function wrk(port, urlPath, seconds, connections) {
  const out = sh('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', path.join(here, 'latency.lua'), `http://127.0.0.1:${port}${urlPath}`]);
  const [requests, durationUs, p50, p99, p999] = (/TOKIO-BENCH (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out) ?? []).slice(1).map(Number);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps: requests / (durationUs / 1e6), p50: p50 / 1000, p99: p99 / 1000, p999: p999 / 1000, errors };
}

export async function waitFor(port, urlPath) {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
      if (res.ok) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** These processes and all their descendants. */
export function processTree(pids) {
  const children = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch { return []; }
  };
  const all = new Set();
  const walk = (pid) => { if (!all.has(pid)) { all.add(pid); children(pid).forEach(walk); } };
  pids.forEach(walk);
  return all;
}

/** The sum of one kB field (VmRSS in status, Pss in smaps_rollup) over a process tree, MiB. */
function sumMiB(pids, file, field) {
  let kib = 0;
  for (const pid of processTree(pids)) {
    try { kib += Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
  }
  return kib / 1024;
}

/** Resident memory of these processes and all their descendants, MiB. */
export const rssMiB = (pids) => sumMiB(pids, 'status', 'VmRSS');

/** Proportional set size (shared pages split among their users) of a process tree, MiB. */
export const pssMiB = (pids) => sumMiB(pids, 'smaps_rollup', 'Pss');

// nginx -v prints on stderr
export const nginxVersion = () => /nginx\/[\d.]+/.exec(spawnSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8' }).stderr)?.[0] ?? 'nginx';

export const phpVersion = (fpm) => sh(`/usr/sbin/${fpm}`, ['-v']).split('\n')[0].replace(/ \(built:.*$/, '');

export const machine = () =>
  `${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`;

export const fmtMs = (v) => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);
