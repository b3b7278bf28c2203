#!/usr/bin/env node
// JavaScript allocated per request on the server's JS thread, and where, for hello-world PHP.
//
//   node --max-semi-space-size=2 bench/alloc.mjs [--requests 20000] [--connections 16] [--warmup 20000]
//        [--interval 64] [--top 25] [--middleware off|default] [--cpu] [--script /hello.php]
//
// tokio-php runs in this process through its library API (a TokioServer on its own socket, as
// one server process with HTTP_THREADS=1 serves: the same Listener, chain and PHP back), with
// PHP_WORKERS=2 and no internal port (--middleware default adds the internal port's metrics
// middleware, as the default configuration has). h2load --h1 drives the requests from another process.
//
// Bytes: V8's sampling heap profiler through node:inspector, objects already collected by minor
// and major GCs included, sampling every --interval bytes on average: its figures are scaled
// estimates of every byte allocated, so they count bytes, not time, and CPU noise does not move
// them. Printed: bytes per request in all, the top allocation sites (self bytes per request, by
// function and file:line), and the same attributed to the nearest frame in tokio-php's own code.
// The count of scavenges per 10k requests (a PerformanceObserver on 'gc') is printed beside it:
// run with --max-semi-space-size=2 as the supervisor starts server processes.
//
// --cpu: no profiler; after the warm-up, --requests (default 200000 then) are timed, and the CPU
// time per request is read from /proc: the whole process (PHP threads included, utime+stime of
// /proc/self/stat) and the JS thread alone (/proc/self/task/<pid>/stat).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const args = parseArgs();
const cpuMode = 'cpu' in args;
const requests = Number(args.requests ?? (cpuMode ? 200_000 : 20_000));
const warmup = Number(args.warmup ?? 20_000);
const connections = Number(args.connections ?? 16);
const interval = Number(args.interval ?? 64);
const top = Number(args.top ?? 25);
const script = String(args.script ?? '/hello.php');
const middleware = String(args.middleware ?? 'off');

const lib = await import(pathToFileURL(path.join(root, 'dist/src/index.js')).href);
const argv = ['--docroot', path.join(here, 'site'), '--workers', '2', '--processes', '1', '--http-threads', '1',
  '--listen', '127.0.0.1:0', '--log-level', 'warn'];
if (middleware === 'off') argv.push('--internal', 'off');
else if (middleware === 'default') argv.push('--internal', '127.0.0.1:0');
else throw new Error('--middleware: off or default');
const config = lib.loadConfig({}, argv);
const log = lib.createLogger(config.logLevel);
const engine = await lib.Engine.start({ workers: config.workers, iniPath: config.phpIniPath });
const server = new lib.TokioServer(config, engine, log);
const [address] = server.listen();
const url = `http://${address.host ?? '127.0.0.1'}:${address.port}${script}`;

/** h2load --h1 in a child process: the event loop stays free to serve it */
function h2load(n) {
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', ['--h1', '-n', String(n), '-c', String(connections), '-m', '1', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', () => {
      const ok = /(\d+) succeeded/.exec(out)?.[1];
      const status = /status codes: (\d+) 2xx/.exec(out)?.[1];
      if (Number(ok) !== n || Number(status) !== n) return reject(new Error(`h2load: not ${n} 2xx answers\n${out}`));
      resolve();
    });
  });
}

/** utime+stime in µs, of the process or one of its threads */
function cpuUs(stat) {
  const fields = readFileSync(stat, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / 100; // USER_HZ is 100 on Linux
}

await h2load(warmup);

let scavenges = 0;
let majors = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === 1) scavenges++; // NODE_PERFORMANCE_GC_MINOR
    else if (e.detail?.kind === 4) majors++;
  }
});
gc.observe({ entryTypes: ['gc'] });

if (cpuMode) {
  const proc0 = cpuUs('/proc/self/stat');
  const js0 = cpuUs(`/proc/self/task/${process.pid}/stat`);
  const t0 = performance.now();
  await h2load(requests);
  const proc = cpuUs('/proc/self/stat') - proc0;
  const js = cpuUs(`/proc/self/task/${process.pid}/stat`) - js0;
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${requests} requests, ${(requests / seconds).toFixed(0)} req/s; CPU per request: process ${(proc / requests).toFixed(1)} µs, ` +
    `JS thread ${(js / requests).toFixed(1)} µs; ${(scavenges * 10_000 / requests).toFixed(1)} scavenges per 10k requests`);
} else {
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', {
    samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
  });
  await h2load(requests);
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();

  const sites = new Map(); // function (file:line) → self bytes
  const owners = new Map(); // nearest frame of tokio-php's own → bytes at it and below, outside other own frames
  const frameName = (f) => `${f.functionName || '(anonymous)'} ${f.url ? `${path.relative(root, fileURLToPath(f.url.startsWith('file:') ? f.url : pathToFileURL(f.url)))}:${f.lineNumber + 1}` : ''}`.trim();
  const isOwn = (f) => f.url.includes('/dist/src/');
  let total = 0;
  // a built-in or native frame (join, Map#set, "(V8 API)": objects the addons make) is named with its caller
  const walk = (node, owner, caller) => {
    const frame = frameName(node.callFrame);
    const name = node.callFrame.url || !caller ? frame : `${frame} <- ${caller}`;
    const own = isOwn(node.callFrame) ? name : owner;
    total += node.selfSize;
    if (node.selfSize) {
      sites.set(name, (sites.get(name) ?? 0) + node.selfSize);
      owners.set(own, (owners.get(own) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, own, node.callFrame.url ? frame : caller);
  };
  walk(profile.head, '(outside tokio-php: node internals, profiler)', '');
  const print = (title, map) => {
    console.log(`\n${title}`);
    for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(bytes / requests).toFixed(0).padStart(7)} B  ${name}`);
    }
  };
  console.log(`${requests} requests (${connections} connections, middleware ${middleware}): ` +
    `${(total / requests).toFixed(0)} bytes of JavaScript allocated per request; ` +
    `${(scavenges * 10_000 / requests).toFixed(1)} scavenges and ${majors} major GCs per 10k requests (profiler running)`);
  print('Top allocation sites, self bytes per request:', sites);
  print('By nearest tokio-php frame, bytes per request:', owners);
}

gc.disconnect();
await server.close(1000);
await engine.shutdown();
process.exit(0);
