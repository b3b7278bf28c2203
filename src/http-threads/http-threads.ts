// HTTP_THREADS: the HTTP front of one server process on several event loops, all feeding its one
// PHP pool and its one admission queue. The main thread is loop 0; each other loop is a
// worker_thread (./http-thread.ts) running a whole TokioServer with a gate of its own on the
// shared listening sockets, an engine attached to the pool (Engine.attach) and its own router,
// caches and counters, which are summed into the process's when Prometheus scrapes.
import { Worker } from 'node:worker_threads';
import client from 'prom-client';
import { netAddon } from '../native/addon.js';
import type { Logger } from '../log.js';
import type { MetricFamily } from '../metrics/recorder.js';
import type { FromThread, HttpThreadData, ThreadFigures, ToThread } from './messages.js';

// a thread too busy to answer a scrape in time is reported with its last figures
const ANSWER_WAIT_MS = 2_000;

interface Loop {
  worker: Worker;
  last: ThreadFigures;
  /** once it has closed: whether it drained in time */
  drained?: boolean;
  closed?: () => void;
}

export class HttpThreads {
  readonly #loops: Loop[] = [];
  readonly #waiting = new Map<number, () => void>(); // collect ids -> their answer arrived
  #nextId = 1;
  #closing = false;

  /**
   * Starts `count` threads with `data` (index and descriptors of the listening sockets of each
   * its own); resolves once each serves. `onStuck`: a
   * script of a thread's is stuck in C; `onFailed`: a thread died (the process must be replaced).
   */
  static async start(count: number, data: Omit<HttpThreadData, 'index'>, log: Logger,
    onStuck: (requestId: string, all: boolean) => void, onFailed: () => void): Promise<HttpThreads> {
    const threads = new HttpThreads();
    const { Gate } = netAddon();
    await Promise.all(Array.from({ length: count }, (_, i) =>
      threads.#spawn({
        ...data, index: i + 1,
        shared: { ...data.shared, listening: data.shared.listening.map((s) => ({ ...s, fd: Gate.duplicate(s.fd) })) },
      }, log, onStuck, onFailed)));
    return threads;
  }

  #spawn(data: HttpThreadData, log: Logger, onStuck: (requestId: string, all: boolean) => void, onFailed: () => void): Promise<void> {
    const worker = new Worker(new URL('./http-thread.js', import.meta.url), { workerData: data });
    const loop: Loop = { worker, last: { families: [] } };
    this.#loops.push(loop);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') return resolve();
        if (m.type === 'stuck') return onStuck(m.requestId, m.all);
        loop.last = m.figures;
        if (m.type === 'figures') this.#waiting.get(m.id)?.();
        else {
          loop.drained = m.drained;
          loop.closed?.();
        }
      });
      const failed = (fields: Record<string, unknown>, why: string) => {
        if (this.#closing) return;
        log.fatal({ ...fields, thread: data.index }, why);
        reject(new Error(`HTTP thread ${data.index}: ${why}`));
        onFailed();
      };
      worker.on('error', (err) => failed({ err }, 'an HTTP thread failed'));
      worker.on('exit', (code) => failed({ code }, 'an HTTP thread exited'));
    });
  }

  /** every thread's counters and histograms (a thread that does not answer in time: its last) */
  async collect(): Promise<{ families: MetricFamily[][] }> {
    if (!this.#closing) {
      const id = this.#nextId++;
      let answers = 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ANSWER_WAIT_MS);
        this.#waiting.set(id, () => {
          if (++answers < this.#loops.length) return;
          clearTimeout(timer);
          resolve();
        });
        for (const loop of this.#loops) loop.worker.postMessage({ type: 'collect', id } satisfies ToThread);
      });
      this.#waiting.delete(id);
    }
    return {
      families: this.#loops.map((l) => l.last.families),
    };
  }

  /** Each thread drains (as TokioServer.close) and stops; resolves false if one had to stop scripts. */
  async close(drainTimeout: number): Promise<boolean> {
    this.#closing = true;
    await Promise.all(this.#loops.map(async (loop) => {
      await new Promise<void>((resolve) => {
        // a thread that never answers is stopped when its drain and the engine's wait are over
        const timer = setTimeout(resolve, drainTimeout + 10_000);
        loop.closed = () => {
          clearTimeout(timer);
          resolve();
        };
        loop.worker.postMessage({ type: 'close', drainTimeout } satisfies ToThread);
      });
      await loop.worker.terminate();
    }));
    return this.#loops.every((l) => l.drained === true);
  }

  reopenLog(): void {
    this.#tellAll({ type: 'reopen-log' });
  }

  /** every PHP thread is stuck: see TokioServer.refuseWhileStuck */
  refuseWhileStuck(): void {
    this.#tellAll({ type: 'refuse-while-stuck' });
  }

  #tellAll(message: ToThread): void {
    for (const loop of this.#loops) loop.worker.postMessage(message);
  }
}

/** The families of every loop summed into one set, as the supervisor sums its processes'. */
export async function sumFamilies(sets: MetricFamily[][]): Promise<MetricFamily[]> {
  if (sets.length === 1) return sets[0];
  return await client.AggregatorRegistry.aggregate(sets).getMetricsAsJSON() as unknown as MetricFamily[];
}
