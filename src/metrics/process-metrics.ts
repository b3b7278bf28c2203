// What a server process answers when the supervisor collects for a scrape: its counters, gauges
// of this moment read from the engine (never per request), OPcache's figures and prom-client's
// default process and Node metrics.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
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
 * Established TCP connections of this process on `port`, read from /proc when Prometheus scrapes:
 * the sockets among its descriptors that the kernel's table shows connected to that local port.
 */
export function openConnections(port: number): number {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let open = 0;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'latin1'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:PORT, st 01 is ESTABLISHED, the 10th field the inode
      if (f.length > 9 && f[3] === '01' && f[1].endsWith(`:${hexPort}`) && mine.has(f[9])) open++;
    }
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
      gauge('open_connections', 'Client connections open on the public port.', [{ value: openConnections(this.server.port), labels: { process } }]),
      { ...gauge('info', 'tokio-php and PHP versions.', [{ value: 1, labels: { version: VERSION, php: this.engine?.info.phpVersion ?? 'none' } }]), aggregator: 'max' as const },
    ];
    if (this.engine) {
      const workers = this.engine.stats().workers;
      const busy = workers.filter((w) => w.state === 'busy').length;
      const idle = workers.filter((w) => w.state === 'idle').length;
      families.push(
        // busy counts threads running a script, not requests waiting for one
        gauge('workers', 'PHP worker threads by state: busy (running a script), idle, other (starting, a worker script booting, exiting to be replaced, broken).', [
          { value: busy, labels: { process, state: 'busy' } },
          { value: idle, labels: { process, state: 'idle' } },
          { value: workers.length - busy - idle, labels: { process, state: 'other' } },
        ]),
        counter('worker_requests_total', 'Requests each PHP worker thread has run.',
          workers.map((w) => ({ value: w.requests, labels: { process, worker: w.id } }))),
        counter('worker_restarts_total', 'PHP threads replaced by a new thread: a classic one after MAX_REQUESTS requests, or one whose PHP context could not start (worker scripts restart in place: worker_script_restarts_total).',
          [{ value: workers.reduce((n, w) => n + w.threads - 1, 0), labels: { process } }]),
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
