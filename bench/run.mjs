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
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MIDDLEWARE, NGINX_PORT, SCENARIOS, TOKIO_PORT, ensurePackages, fmtMs, machine, nginxVersion, parseArgs, phpVersion,
  pickScenarios, prepareSite, rssMiB, site, startPeer, startTokio, waitFor, work, wrk,
} from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs();
const workers = Number(args.workers ?? os.availableParallelism());
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 64);
// tokio-php's server processes (PROCESSES); unset, its own default
const processes = args.processes === undefined ? [] : ['--processes', String(Number(args.processes))];
// tokio-php: TOKIO_PORT and up, one per middleware variant
const STUB_PORT = 18097;
const BARE_UWS_PORT = 18098;
const variants = String(args.middleware ?? 'default').split(',');
for (const v of variants) if (!MIDDLEWARE[v]) throw new Error(`--middleware ${v}: expected off, default or all`);
const scenarios = pickScenarios(SCENARIOS, args.scenarios);

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: php-fpm runs its workers as www-data');
  const fpmBinary = ensurePackages({ '/usr/bin/wrk': 'wrk' });
  prepareSite();
  const tokios = variants.map((v, i) => [v, TOKIO_PORT + i]);
  const peer = startPeer(fpmBinary, workers);
  const tokioProcs = tokios.map(([v, port]) =>
    startTokio({ port, workers, processes, log: path.join(work, `tokio-${v}.log`), env: MIDDLEWARE[v] }));
  const procs = [...peer, ...tokioProcs];
  const stop = () => procs.forEach((p) => p.kill('SIGTERM'));
  process.on('exit', stop);
  await waitFor(NGINX_PORT, '/hello.php');
  for (const [, port] of tokios) await waitFor(port, '/hello.php');

  const rows = [];
  for (const [name, urlPath, fpmPath = urlPath] of scenarios) {
    const result = {};
    // Each server is measured twice, in order and then in reverse (A B C C B A), and the two
    // averaged: a machine whose speed drifts during a run favours no one.
    const servers = [...tokios.map(([v, port]) => [v, port, urlPath]), ['fpm', NGINX_PORT, fpmPath]];
    for (const [, port, p] of servers) wrk(port, p, 2, connections); // warm up: OPcache, connections, JIT of the JS side
    const runs = {};
    for (const [server, port, p] of [...servers, ...[...servers].reverse()]) {
      (runs[server] ??= []).push(wrk(port, p, duration / 2, connections));
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
      '--processes', '1', '--http-threads', '1', '--executor', 'stub', '--internal', 'off', '--log-level', 'warn'],
      { stdio: 'ignore', env: { ...process.env, ALLOW_RUN_AS_ROOT: '1' } }), STUB_PORT],
    ['uws', spawn(process.execPath, [path.join(here, 'bare-uws.mjs'), String(BARE_UWS_PORT)], { stdio: 'ignore' }), BARE_UWS_PORT],
  ];
  procs.push(...layer.map(([, p]) => p));
  for (const [, , port] of layer) await waitFor(port, '/hello.php');
  const http = {};
  for (const [, , port] of layer) wrk(port, '/hello.php', 2, connections);
  for (const [name, , port] of [...layer, ...[...layer].reverse()]) (http[name] ??= []).push(wrk(port, '/hello.php', duration / 2, connections).rps);
  stop();
  const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;

  console.log(`\n${machine()}`);
  console.log(`${workers} PHP workers each${processes.length ? `, tokio-php in ${processes[1]} server process(es)` : ''}; wrk -t2 -c${connections}, ${duration} s per server in two halves (A B … B A, averaged) on the same machine; peer: ${nginxVersion()} + ${phpVersion(fpmBinary)}\n`);
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
