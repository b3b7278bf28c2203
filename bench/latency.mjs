#!/usr/bin/env node
// Latency at equal load: tokio-php against nginx + php-fpm, both offered the same fixed request
// rate (open loop) by h2load, on the same scripts with the same number of PHP workers, OPcache on
// in both. Prints p50, p99 and p99.9 of each, their ratios, and both servers' memory (PSS).
//
//   node bench/latency.mjs [--workers 2] [--duration 10] [--scenarios hello,autoload] [--processes N]
//                          [--loads 30,70] [--client-rps 10] [--warmup 1] [--connections 64] [--fastcgi]
//
// --workers     PHP workers of each server (php-fpm's pm.max_children, tokio-php's --workers);
//               tokio-php runs classic scripts only here, no worker scripts
// --duration    seconds measured per server and rate, in two halves (see below)
// --scenarios   comma-separated prefixes of 'hello world' (/hello.php) and 'autoload 100 classes'
//               (/bootstrap.php); both without it
// --processes   tokio-php's server processes (its --processes); unset, its own default
// --loads       the rates, in % of php-fpm's capacity
// --client-rps  requests per second of each h2load connection (see below)
// --warmup      seconds at the start of each open-loop run left out of every figure (see below)
// --connections connections of the closed-loop capacity runs
// --fastcgi     tokio-php behind nginx over FastCGI, as php-fpm (one nginx in front of both, the same
//               location block over Unix sockets, a connection per request: php-fpm's usual setup;
//               with fastcgi_keep_conn its 2 children sit on 2 of nginx's hundreds of kept
//               connections while requests wait on the others until nginx's timeout)
//
// For each scenario, both servers are warmed up (2 s) and their capacity measured closed loop
// (h2load without --rps, -c --connections, 3 s). Then each load L % of php-fpm's capacity is one
// rate R, the same for both servers, offered A B B A (tokio-php, php-fpm, php-fpm, tokio-php;
// duration/2 each), so a machine whose speed drifts favours no one. The percentiles are of the
// two halves merged: every request of both, pooled; so is the achieved rate.
//
// The load is `h2load --h1 -m1 --rps r -c R/r`: R/r HTTP/1.1 connections, each sending one request
// every 1/r s (100 ms by default) and never more than one at a time. The connections are opened
// -r R/1000 per --rate-period 1 ms, so their schedules are spread evenly over those 1/r s rather
// than all firing at once: the server sees about R/1000 new requests a millisecond on average
// (in small batches, as h2load's timers fire). The
// first --warmup seconds, while those connections open and settle, are not counted: a connection
// storm is another test (with two server processes, the first requests of tokio-php's new
// connections waited up to 0.4 s while 2000 connections/s opened; --warmup 0 shows it).
// h2load stamps a request when it sends it, so a connection whose previous answer came later than
// 1/r sends late and the wait is not counted (coordinated omission): the achieved rate, counted
// from h2load's --log-file like every figure here, then strays from R (short, or over as the
// backlog goes out), and the table marks it, as it marks a p99.9 of 1/r or more.
//
// Memory: the sum of Pss (/proc/PID/smaps_rollup) over every process of each server after the
// runs: tokio-php's supervisor and its server processes; nginx's master and workers, php-fpm's
// master and children.
// Needs root on Debian/Ubuntu: it installs nghttp2-client (h2load), nginx-light and php-fpm with
// apt-get if missing.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  MIDDLEWARE, NGINX_PORT, SCENARIOS, TOKIO_PORT, ensurePackages, fmtMs, machine, nginxVersion, parseArgs, phpVersion,
  pickScenarios, prepareSite, processTree, pssMiB, sh, startFastCgiPeers, startPeer, startTokio, waitFor, work,
} from './peers.mjs';

const args = parseArgs();
const workers = Number(args.workers ?? 2);
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 64);
const clientRps = Number(args['client-rps'] ?? 10);
const warmup = Number(args.warmup ?? 1);
const loads = String(args.loads ?? '30,70').split(',').map(Number);
const processes = args.processes === undefined ? [] : ['--processes', String(Number(args.processes))];
const fastcgi = 'fastcgi' in args;
const scenarios = pickScenarios(SCENARIOS.filter(([, p]) => p === '/hello.php' || p === '/bootstrap.php'), args.scenarios);
const CAPACITY_SECONDS = 3;
const CLOSED_WARMUP_SECONDS = 2;

/**
 * h2load's --log-file: one line per request, start (µs since the epoch), status, µs to the end.
 * Requests started in the first `skip` seconds are left out.
 */
function readLog(file, skip) {
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t').map(Number));
  rmSync(file); // h2load appends to it
  const from = rows.reduce((min, [start]) => Math.min(min, start), Infinity) + skip * 1e6;
  const kept = rows.filter(([start]) => start >= from);
  const starts = kept.map(([start]) => start).sort((a, b) => a - b);
  // requests started per second, from the first start to the last
  const seconds = (starts.at(-1) - starts[0]) / 1e6;
  return { n: kept.length, seconds, rate: (kept.length - 1) / seconds, micros: kept.map(([, , us]) => us),
    errors: kept.filter(([, status]) => status < 200 || status >= 400).length };
}

function h2load(port, urlPath, flags, skip = 0) {
  const log = path.join(work, 'h2load.log');
  sh('h2load', ['--h1', '-t1', '-m1', ...flags, `--log-file=${log}`, `http://127.0.0.1:${port}${urlPath}`],
    { timeout: (duration + warmup + 60) * 1000 });
  return readLog(log, skip);
}

/** Closed loop: `connections` connections, each sending its next request when the last is answered. */
const closedLoop = (port, urlPath, seconds) => h2load(port, urlPath, [`-c${connections}`, `-D${seconds}`]).rate;

/** Open loop at `rate` req/s for `warmup` + `seconds` seconds, the first `warmup` left out (see the header). */
function openLoop(port, urlPath, rate, seconds) {
  const clients = Math.max(1, Math.round(rate / clientRps));
  const period = Math.max(1, Math.round(1000 / rate)); // ms
  const perPeriod = Math.max(1, Math.round(rate * period / 1000));
  return h2load(port, urlPath, [`-c${clients}`, `--rps=${rate / clients}`, `-r${perPeriod}`, `--rate-period=${period}ms`,
    `-n${Math.max(clients, Math.round(rate * (warmup + seconds)))}`], warmup);
}

/** Nearest-rank percentiles of the pooled requests of several runs, ms. */
function merge(runs) {
  const micros = runs.flatMap((r) => r.micros).sort((a, b) => a - b);
  const at = (q) => micros[Math.min(micros.length - 1, Math.ceil(q * micros.length) - 1)] / 1000;
  const sum = (f) => runs.reduce((s, r) => s + f(r), 0);
  return { rate: sum((r) => r.n - 1) / sum((r) => r.seconds), p50: at(0.5), p99: at(0.99), p999: at(0.999),
    n: micros.length, errors: sum((r) => r.errors), halves: runs.map((r) => r.rate) };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: php-fpm runs its workers as www-data');
  if (!scenarios.length) throw new Error('--scenarios: expected hello or autoload');
  const fpmBinary = ensurePackages({ '/usr/bin/h2load': 'nghttp2-client' });
  prepareSite();
  const log = path.join(work, 'tokio.log');
  // the servers' own processes, whose memory is compared: with --fastcgi their nginx is one and the same
  let tokio, fpmPids, procs;
  if (fastcgi) {
    const started = startFastCgiPeers(fpmBinary, workers, { fpmPort: NGINX_PORT, tokioPort: TOKIO_PORT, log, processes, keepConn: false });
    ({ tokio } = started);
    fpmPids = [started.fpm.pid];
    procs = [started.fpm, started.tokio, started.nginx];
  } else {
    const peer = startPeer(fpmBinary, workers);
    tokio = startTokio({ port: TOKIO_PORT, workers, processes, log, env: MIDDLEWARE.default, workerMode: false });
    fpmPids = peer.map((p) => p.pid);
    procs = [...peer, tokio];
  }
  const stop = () => procs.forEach((p) => p.kill('SIGTERM'));
  process.on('exit', stop);
  await waitFor(NGINX_PORT, '/hello.php');
  await waitFor(TOKIO_PORT, '/hello.php');

  const servers = [['tokio', TOKIO_PORT], ['fpm', NGINX_PORT]];
  const rows = [];
  const capacities = [];
  for (const [name, urlPath] of scenarios) {
    for (const [, port] of servers) closedLoop(port, urlPath, CLOSED_WARMUP_SECONDS); // OPcache, connections, the JS side's JIT
    const capacity = Object.fromEntries(servers.map(([server, port]) => [server, closedLoop(port, urlPath, CAPACITY_SECONDS)]));
    capacities.push([name, capacity]);
    console.error(`${name}: closed-loop capacity tokio-php ${capacity.tokio.toFixed(0)} req/s, nginx+php-fpm ${capacity.fpm.toFixed(0)} req/s`);
    for (const load of loads) {
      const rate = Math.round(capacity.fpm * load / 100);
      const runs = {};
      for (const [server, port] of [...servers, ...[...servers].reverse()]) {
        (runs[server] ??= []).push(openLoop(port, urlPath, rate, duration / 2));
      }
      const result = Object.fromEntries(Object.entries(runs).map(([server, r]) => [server, merge(r)]));
      rows.push([name, load, rate, result.tokio, result.fpm]);
      for (const [server, r] of Object.entries(result)) {
        console.error(`  ${load} % = ${rate} req/s, ${server}: achieved ${r.halves.map((x) => x.toFixed(0)).join(' + ')} req/s, p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}, p99.9 ${fmtMs(r.p999)} (${r.n} requests)`);
      }
    }
  }
  const memory = [[tokio.pid], fpmPids].map((pids) => [pssMiB(pids), processTree(pids).size]);
  stop();

  // open loop no longer: a half off the rate, or answers slower than a connection's interval
  const late = (r, rate) => r.halves.some((x) => Math.abs(x - rate) > 0.03 * rate) || r.p999 >= 1000 / clientRps;
  const achieved = (r, rate) => `${r.rate.toFixed(0)}${late(r, rate) ? ' ⚠' : ''}`;
  const bad = (t, f) => (t.errors || f.errors ? ` (failed or non-2xx: ${t.errors}/${f.errors})` : '');
  console.log(`\n${machine()}`);
  console.log(`${fastcgi ? 'tokio-php over FastCGI behind the same nginx as php-fpm; ' : ''}${workers} PHP workers each${processes.length ? `, tokio-php in ${processes[1]} server process(es)` : ''}; open loop with h2load --h1 -m1, ${clientRps} req/s per connection, ${duration} s per server and rate in two halves (A B B A, after ${warmup} s of warm-up each) on the same machine, percentiles of both halves' requests pooled; peer: ${nginxVersion()} + ${phpVersion(fpmBinary)}`);
  console.log(`Rates are ${loads.join(' % and ')} % of php-fpm's closed-loop capacity (h2load -c${connections}, ${CAPACITY_SECONDS} s): ${capacities.map(([name, c]) => `${name} ${c.fpm.toFixed(0)} req/s (tokio-php ${c.tokio.toFixed(0)})`).join(', ')}\n`);
  console.log('| scenario | rate (req/s) | tokio-php achieved | p50 | p99 | p99.9 | nginx + php-fpm achieved | p50 | p99 | p99.9 | p99 ratio | p99.9 ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, load, rate, t, f] of rows) {
    console.log(`| ${name} | ${rate} (${load} %) | ${achieved(t, rate)} | ${fmtMs(t.p50)} | ${fmtMs(t.p99)} | ${fmtMs(t.p999)} | ${achieved(f, rate)} | ${fmtMs(f.p50)} | ${fmtMs(f.p99)} | ${fmtMs(f.p999)} | ${(t.p99 / f.p99).toFixed(2)}× | ${(t.p999 / f.p999).toFixed(2)}×${bad(t, f)} |`);
  }
  console.log(`\nRatios are tokio-php's percentile ÷ nginx + php-fpm's: below 1, tokio-php answers faster.`);
  if (rows.some(([, , rate, t, f]) => late(t, rate) || late(f, rate))) {
    console.log(`⚠: a half's achieved rate is more than 3 % off the rate, or p99.9 is ${1000 / clientRps} ms (a connection's interval) or more: requests went out late and their wait is not counted, so the tail is understated.`);
  }
  console.log(`Memory (PSS, every process) after the runs: tokio-php ${memory[0][0].toFixed(0)} MiB (${memory[0][1]} processes); ${fastcgi ? 'php-fpm' : 'nginx + php-fpm'} ${memory[1][0].toFixed(0)} MiB (${memory[1][1]} processes)`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
