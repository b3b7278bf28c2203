#!/usr/bin/env node
// nginx + tokio-php over FastCGI (a Unix socket, as php-fpm's users run it) against nginx +
// php-fpm, one nginx in front of both with the same location block, the same number of PHP workers
// and OPcache on in both; wrk on each, A B B A. Prints req/s, p50/p99 and tokio-php's ratio.
//
//   node bench/fastcgi.mjs [--workers N] [--duration 10] [--connections 64] [--scenarios hello,superglobals,autoload]
//                          [--keep-conn on|off]
//
// Needs root on Debian/Ubuntu: it installs wrk, nginx-light and php-fpm with apt-get if missing.
import os from 'node:os';
import {
  SCENARIOS, ensurePackages, fmtMs, machine, nginxVersion, parseArgs, phpVersion, pickScenarios, prepareSite, startFastCgiPeers, waitFor, work, wrk,
} from './peers.mjs';

const args = parseArgs();
const workers = Number(args.workers ?? os.availableParallelism());
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 64);
const keepConn = (args['keep-conn'] ?? 'on') !== 'off';
const scenarios = pickScenarios(SCENARIOS.filter(([name]) => !/static|worker/.test(name)), args.scenarios ?? 'hello,superglobals,autoload');
const FPM_PORT = 18482;
const TOKIO_PORT = 18483;

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: php-fpm runs its workers as www-data');
  const fpm = ensurePackages({ '/usr/bin/wrk': 'wrk' });
  prepareSite();
  const { fpm: fpmProcess, tokio, nginx } = startFastCgiPeers(fpm, workers, { fpmPort: FPM_PORT, tokioPort: TOKIO_PORT, log: `${work}/tokio.log`, keepConn });
  const procs = [fpmProcess, tokio, nginx];
  const stop = () => procs.forEach((p) => p.kill('SIGTERM'));
  process.on('exit', stop);
  await waitFor(FPM_PORT, '/hello.php');
  await waitFor(TOKIO_PORT, '/hello.php');

  const rows = [];
  for (const [name, urlPath] of scenarios) {
    const servers = [['tokio', TOKIO_PORT], ['fpm', FPM_PORT]];
    for (const [, port] of servers) wrk(port, urlPath, 2, connections);
    const runs = {};
    for (const [server, port] of [...servers, ...[...servers].reverse()]) (runs[server] ??= []).push(wrk(port, urlPath, duration / 2, connections));
    const avg = (r) => ({ rps: (r[0].rps + r[1].rps) / 2, p50: (r[0].p50 + r[1].p50) / 2, p99: Math.max(r[0].p99, r[1].p99), errors: r[0].errors + r[1].errors });
    rows.push([name, avg(runs.tokio), avg(runs.fpm)]);
    console.error(`${name}: nginx + tokio-php ${avg(runs.tokio).rps.toFixed(0)} req/s, nginx + php-fpm ${avg(runs.fpm).rps.toFixed(0)} req/s`);
  }
  stop();
  console.log(`\n${machine()}`);
  console.log(`${workers} PHP workers each, FastCGI over a Unix socket ${keepConn ? 'with fastcgi_keep_conn and a keepalive pool of 64' : 'a connection per request (no fastcgi_keep_conn)'}; wrk -t2 -c${connections}, ${duration} s per server in two halves (A B B A); ${nginxVersion()} in front of both; peer: ${phpVersion(fpm)}\n`);
  console.log('| scenario | nginx + tokio-php req/s | p50 | p99 | nginx + php-fpm req/s | p50 | p99 | ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, t, f] of rows) {
    const bad = t.errors || f.errors ? ` (non-2xx: ${t.errors}/${f.errors})` : '';
    console.log(`| ${name} | ${t.rps.toFixed(0)} | ${fmtMs(t.p50)} | ${fmtMs(t.p99)} | ${f.rps.toFixed(0)} | ${fmtMs(f.p50)} | ${fmtMs(f.p99)} | ${(t.rps / f.rps).toFixed(2)}×${bad} |`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
