// The supervisor's view of its processes' metrics: it asks each live process for a report when
// Prometheus scrapes, and keeps the counters of processes that are gone, so that the sums it
// exposes never go down when a process is replaced (Prometheus would read a reset).
import type { Worker } from 'node:cluster';
import client from 'prom-client';
import type { ProcessReport } from '../metrics/process-metrics.js';
import type { MetricFamily } from '../metrics/recorder.js';
import { tell } from '../supervisor/messages.js';

// a process too busy to answer in time is reported with its last figures
const ANSWER_WAIT_MS = 2_000;

export class ProcessReports {
  readonly #last = new Map<Worker, ProcessReport>();
  readonly #waiting = new Map<number, { worker: Worker; resolve: (r: ProcessReport | undefined) => void }>();
  #nextId = 1;
  #retired: MetricFamily[] = [];
  #folding = Promise.resolve(); // a gone process's figures on their way into #retired

  /** A report arrived from `worker` (an answer, or its last one as it exits). */
  received(worker: Worker, id: number, report: ProcessReport): void {
    // a status-only answer must not replace the figures kept for when the process is gone
    if (report.families.length) this.#last.set(worker, report);
    const waiter = this.#waiting.get(id);
    if (waiter?.worker === worker) {
      this.#waiting.delete(id);
      waiter.resolve(report);
    }
  }

  /** `worker` exited: its counters and histograms join those of earlier processes. */
  gone(worker: Worker): void {
    const last = this.#last.get(worker);
    this.#last.delete(worker);
    if (last) {
      const lasting = last.families.filter((f) => f.type !== 'gauge' && f.name.startsWith('tokio_php_'));
      this.#folding = this.#folding.then(async () => {
        const merged = client.AggregatorRegistry.aggregate([this.#retired, lasting] as never);
        this.#retired = await merged.getMetricsAsJSON() as unknown as MetricFamily[];
      });
    }
    for (const [id, w] of this.#waiting) {
      if (w.worker !== worker) continue;
      this.#waiting.delete(id);
      w.resolve(undefined);
    }
  }

  /**
   * Asks every process in `workers` for a report (with its metric families, or `metrics` false:
   * its status figures alone; `full`: with each PHP thread's); one that does not answer in time
   * gives its last.
   */
  async collect(workers: readonly Worker[], metrics: boolean, full = false): Promise<{ reports: ProcessReport[]; retired: MetricFamily[] }> {
    const answers = await Promise.all(workers.map((worker) => new Promise<ProcessReport | undefined>((resolve) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(this.#last.get(worker));
      }, ANSWER_WAIT_MS);
      this.#waiting.set(id, { worker, resolve: (r) => { clearTimeout(timer); resolve(r); } });
      tell(worker, { type: 'collect', id, metrics, full });
    })));
    await this.#folding;
    return { reports: answers.filter((r): r is ProcessReport => r !== undefined), retired: this.#retired };
  }
}
