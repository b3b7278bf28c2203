#!/usr/bin/env node
// HTTP/2 over TLS: tokio-php against nginx (http2) + php-fpm, measured in one run with h2load
// (Debian's nghttp2-client) on the same scripts, the same number of PHP workers, OPcache on in
// both, and the same self-signed certificate. Prints req/s, mean and max request time and
// tokio-php's ratio.
//
//   node bench/h2.mjs [--workers N] [--requests 100000] [--clients 32] [--streams 10] [--scenarios hello,1 KB]
//
// Each server is measured twice, A B B A, and the two averaged. Needs root on Debian/Ubuntu: it
// installs nghttp2-client, nginx-light and php-fpm with apt-get if missing.
import os from 'node:os';
import path from 'node:path';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SCENARIOS, ensurePackages, machine, nginxVersion, parseArgs, phpVersion, pickScenarios, prepareSite, sh, startPeer,
  startTokio, work,
} from './peers.mjs';

const args = parseArgs();
const workers = Number(args.workers ?? os.availableParallelism());
const requests = Number(args.requests ?? 100_000);
const clients = Number(args.clients ?? 32);
const streams = Number(args.streams ?? 10);
const scenarios = pickScenarios(SCENARIOS.filter(([name]) => !name.startsWith('worker mode')), args.scenarios ?? 'hello,1 KB');
const NGINX_H2_PORT = 18443;
const TOKIO_H2_PORT = 18444;

async function waitForTls(port, urlPath) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      request({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode === 200); })
        .on('error', () => resolve(false)).end();
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing answers HTTPS on port ${port}`);
}

function h2load(port, urlPath, n) {
  const out = sh('h2load', ['-n', String(n), '-c', String(clients), '-m', String(streams), `https://127.0.0.1:${port}${urlPath}`]);
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  // time for request: min max mean sd +/- sd
  const [, min, max, mean] = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out) ?? [];
  const failed = Number(/requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(out)?.[1] ?? 0);
  const non2xx = /status codes: (\d+) 2xx/.exec(out)?.[1];
  const protocol = /Application protocol: (\S+)/.exec(out)?.[1];
  return { rps, min, max, mean, failed: failed + (n - Number(non2xx ?? 0)), protocol };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: php-fpm runs its workers as www-data');
  const fpmBinary = ensurePackages({ '/usr/bin/h2load': 'nghttp2-client' });
  prepareSite();
  const cert = path.join(work, 'cert.pem');
  const key = path.join(work, 'key.pem');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost']);
  const procs = [
    ...startPeer(fpmBinary, workers, { port: NGINX_H2_PORT, cert, key }),
    startTokio({ port: TOKIO_H2_PORT, workers, processes: [], log: path.join(work, 'tokio-h2.log'), env: { TLS_CERT: cert, TLS_KEY: key }, workerMode: false }),
  ];
  const stop = () => procs.forEach((p) => p.kill('SIGTERM'));
  process.on('exit', stop);
  await waitForTls(NGINX_H2_PORT, '/hello.php');
  await waitForTls(TOKIO_H2_PORT, '/hello.php');

  const rows = [];
  for (const [name, urlPath] of scenarios) {
    const servers = [['tokio', TOKIO_H2_PORT], ['fpm', NGINX_H2_PORT]];
    for (const [, port] of servers) h2load(port, urlPath, Math.ceil(requests / 5)); // warm up
    const runs = {};
    for (const [server, port] of [...servers, ...[...servers].reverse()]) (runs[server] ??= []).push(h2load(port, urlPath, requests));
    const avg = (server) => runs[server].reduce((a, r) => a + r.rps, 0) / 2;
    rows.push([name, runs.tokio, runs.fpm, avg('tokio'), avg('fpm')]);
    console.error(`${name}: tokio-php ${avg('tokio').toFixed(0)} req/s, nginx + php-fpm ${avg('fpm').toFixed(0)} req/s`);
  }
  stop();

  console.log(`\n${machine()}`);
  console.log(`${workers} PHP workers each; h2load -n ${requests} -c ${clients} -m ${streams} over TLS, twice per server (A B B A, averaged); peer: ${nginxVersion()} (http2) + ${phpVersion(fpmBinary)}\n`);
  console.log('| scenario | tokio-php req/s | mean, max request time | nginx + php-fpm req/s | mean, max request time | ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, tokio, fpm, t, f] of rows) {
    const failed = tokio[0].failed + tokio[1].failed + fpm[0].failed + fpm[1].failed;
    const protocols = [...new Set([...tokio, ...fpm].map((r) => r.protocol))].join('/');
    console.log(`| ${name} | ${t.toFixed(0)} | ${tokio[1].mean}, ${tokio[1].max} | ${f.toFixed(0)} | ${fpm[1].mean}, ${fpm[1].max} | ${(t / f).toFixed(2)}×${failed ? ` (failed: ${failed})` : ''}${protocols !== 'h2' ? ` (${protocols})` : ''} |`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
