// What a server process answers when the supervisor collects for a scrape: its counters, gauges
// of this moment read from the engine (never per request), OPcache's figures and prom-client's
// default process and Node metrics.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ListenAddress } from '../config/config.js';
import type { Engine } from '../engine/engine.js';
import { sumFamilies, type HttpThreads } from '../http-threads/http-threads.js';
import type { ProcessStatus } from '../internal-port/status.js';
import type { TokioServer } from '../server/server.js';
import { VERSION } from '../package.js';
import { counter, gauge, type MetricFamily } from './recorder.js';
import { opcacheFamilies } from './opcache.js';
import type { WorkerScripts } from '../worker-mode/lifecycle.js';

// prom-client's gauges named like counters, which `promtool check metrics` rejects; the same
// figures remain by type in nodejs_active_handles, nodejs_active_requests, nodejs_active_resources
const LINT_FAILURES = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

export interface ProcessReport {
  families: MetricFamily[];
  status: ProcessStatus;
}

/**
 * Connections of this process on `addresses`, read from /proc when Prometheus scrapes: the sockets
 * among its descriptors that the kernel's tables show connected to one of those local ports or
 * Unix socket paths (an accepted Unix connection shows its listening socket's path).
 */
export function openConnections(addresses: ListenAddress[]): number {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const hexPorts = new Set(addresses.flatMap((a) => ('port' in a ? [a.port.toString(16).toUpperCase().padStart(4, '0')] : [])));
  const paths = new Set(addresses.flatMap((a) => ('path' in a ? [a.path] : [])));
  const lines = (table: string) => {
    try { return readFileSync(table, 'latin1').split('\n').slice(1).map((line) => line.trim().split(/\s+/)); } catch { return []; }
  };
  let open = 0;
  for (const f of [...lines('/proc/self/net/tcp'), ...lines('/proc/self/net/tcp6')]) {
    // local_address is HEXIP:PORT, st 01 is ESTABLISHED, the 10th field the inode
    if (f.length > 9 && f[3] === '01' && hexPorts.has(f[1].slice(f[1].lastIndexOf(':') + 1)) && mine.has(f[9])) open++;
  }
  if (paths.size) {
    // Num RefCount Protocol Flags Type St Inode Path: St 03 is connected
    for (const f of lines('/proc/self/net/unix')) if (f[5] === '03' && paths.has(f[7]) && mine.has(f[6])) open++;
  }
  return open;
}

export class ProcessMetrics {
  readonly #registry = new Registry();

  constructor(readonly index: number, readonly server: TokioServer, readonly engine: Engine | null,
    readonly workerScripts?: WorkerScripts, readonly threads?: HttpThreads | null) {
    collectDefaultMetrics({ register: this.#registry });
  }

  /**
   * `metrics` false: the status figures alone, without running OPcache's script or reading /proc;
   * `full`: with each PHP thread's current or last request (/status?full)
   */
  async report(metrics = true, full = false): Promise<ProcessReport> {
    const process = this.index;
    const recorder = this.server.metrics;
    const own = [...recorder.families(), ...recorder.gauges(process)];
    // the admission counts behind the status figures are the process's, every loop's
    const status = { ...this.server.status() };
    if (full && this.engine) status.threads = this.engine.stats(true).workers;
    if (!metrics) return { families: [], status };
    // the other event loops' counters, summed with this one's
    const loops = await this.threads?.collect();
    const families = [...await sumFamilies([own, ...loops?.families ?? []]),
      gauge('queue_depth', 'PHP requests waiting for a worker thread.', [{ value: status.waiting, labels: { process } }]),
      gauge('queue_capacity', 'PHP requests that may wait before 503 (QUEUE_CAPACITY).', [{ value: status.capacity, labels: { process } }]),
      counter('max_children_reached_total', "PHP requests that found every thread busy with the pool at its maximum (PHP_WORKERS), php-fpm's max children reached.",
        [{ value: status.saturated, labels: { process } }]),
      gauge('open_connections', 'Client connections open on the public port.', [{ value: openConnections(this.server.addresses), labels: { process } }]),
      { ...gauge('info', 'tokio-php and PHP versions.', [{ value: 1, labels: { version: VERSION, php: this.engine?.info.phpVersion ?? 'none' } }]), aggregator: 'max' as const },
    ];
    if (this.engine) {
      const workers = this.engine.stats().workers;
      const busy = workers.filter((w) => w.state === 'busy').length;
      const idle = workers.filter((w) => w.state === 'idle').length;
      // a slot no thread holds (PM dynamic or ondemand) is no thread
      const live = workers.filter((w) => w.state !== 'stopped').length;
      families.push(
        // busy counts threads running a script, not requests waiting for one
        gauge('workers', 'PHP worker threads running, by state: busy (running a script), idle, other (starting, a worker script booting, exiting, broken); their sum is every live thread.', [
          { value: busy, labels: { process, state: 'busy' } },
          { value: idle, labels: { process, state: 'idle' } },
          { value: live - busy - idle, labels: { process, state: 'other' } },
        ]),
        counter('worker_requests_total', 'Requests each PHP worker thread has run.',
          workers.map((w) => ({ value: w.requests, labels: { process, worker: w.id } }))),
        counter('worker_restarts_total', 'PHP threads replaced by a new thread: a classic one after MAX_REQUESTS requests, or one whose PHP context could not start (worker scripts restart in place: worker_script_restarts_total).',
          [{ value: workers.reduce((n, w) => n + w.replaced, 0), labels: { process } }]),
        gauge('worker_peak_memory_bytes', 'Peak PHP memory of the last request of each worker thread.',
          workers.map((w) => ({ value: w.peakMemory, labels: { process, worker: w.id } }))),
        ...this.workerScripts?.families(process, this.engine.stats()) ?? [],
        ...await opcacheFamilies(this.engine, process),
      );
    }
    const defaults = (await this.#registry.getMetricsAsJSON() as unknown as MetricFamily[]).filter((f) => !LINT_FAILURES.has(f.name));
    return { families: [...families, ...defaults], status };
  }
}
