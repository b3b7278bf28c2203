// Worker mode's lifecycle in one server process: what each boot and end of a worker script
// means for the log, for the metrics, and for readiness. A script whose every thread failed to
// boot WORKER_MAX_FAILURES times in a row is broken: its requests get 503 at once, and /ready
// says 503, until a boot succeeds (the threads keep trying, at most once a second).
import type { Config } from '../config/config.js';
import type { EngineStats, WorkerScriptEndReason, WorkerScriptEvent } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { counter, gauge, type MetricFamily } from '../metrics/recorder.js';

const REASONS: readonly WorkerScriptEndReason[] =
  ['max_requests', 'max_memory', 'reload', 'watch', 'ended', 'killed', 'fatal_error', 'exit', 'boot_failed'];

/** On another thread of the process: which worker scripts are broken, from WorkerScripts.brokenFlags. */
export function sharedBrokenView(flags: Int32Array): Pick<WorkerScripts, 'isBroken'> {
  return { isBroken: (script) => Atomics.load(flags, script) === 1 };
}

export class WorkerScripts {
  readonly #names: string[];
  readonly #maxFailures: number;
  readonly #threads: number; // of each script, in this process
  readonly #broken: Set<number>[]; // per script: its threads past WORKER_MAX_FAILURES
  readonly #restarts: Record<WorkerScriptEndReason, number>[];
  /** the engine has started: a script broken from now on serves 503 while it retries */
  serving = false;
  /** 1 where a script is broken, in memory the process's HTTP threads read (sharedBrokenView) */
  readonly brokenFlags: Int32Array;

  /** `onReadiness`: called when a script turns broken, or every one serves again */
  constructor(config: Config, threads: number, readonly log: Logger, readonly onReadiness: (ready: boolean) => void) {
    this.#names = config.workerScripts.map((w) => w.name);
    this.#maxFailures = config.workerMaxFailures;
    this.#threads = threads;
    this.#broken = this.#names.map(() => new Set());
    this.brokenFlags = new Int32Array(new SharedArrayBuffer(Math.max(1, this.#names.length) * Int32Array.BYTES_PER_ELEMENT));
    this.#restarts = this.#names.map(() => Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<WorkerScriptEndReason, number>);
  }

  /** No thread of this script can serve: every one keeps failing to boot. */
  isBroken(script: number): boolean {
    return this.#broken[script].size >= this.#threads;
  }

  get ready(): boolean {
    return this.#names.every((_, i) => !this.isBroken(i));
  }

  event(e: WorkerScriptEvent): void {
    const script = this.#names[e.script];
    const where = { script, worker: e.worker };
    const wasReady = this.ready;
    if (e.kind === 'booted') {
      if (this.#broken[e.script].delete(e.worker)) this.log.info({ ...where, bootMs: Math.round(e.bootMs) }, 'worker script boots again');
      else this.log.debug({ ...where, bootMs: Math.round(e.bootMs) }, 'worker script ready');
    } else if (e.reason && e.reason !== 'shutdown') {
      this.#restarts[e.script][e.reason]++;
      const fields = { ...where, reason: e.reason, exitStatus: e.exitStatus, requests: e.requests };
      if (e.reason === 'boot_failed') {
        if (e.failures >= this.#maxFailures) this.#broken[e.script].add(e.worker);
        if (e.failures === this.#maxFailures) {
          // while the engine starts, the start itself fails, saying why
          if (this.serving) {
            this.log.error({ ...fields, failures: e.failures },
              'worker script is broken: it keeps failing before tokio_handle_request() (see the PHP errors above); its requests get 503 while it retries');
          }
        } else {
          this.log.warn({ ...fields, failures: e.failures }, 'worker script failed before tokio_handle_request(): starting it again');
        }
      } else if (e.reason === 'killed' || e.reason === 'fatal_error' || e.reason === 'exit') {
        this.log.warn(fields, 'worker script ended inside a request: starting it again');
      } else if (e.reason === 'ended') {
        this.log.info(fields, 'worker script ended by itself between requests: starting it again');
      } else {
        this.log.info(fields, 'worker script restarting');
      }
    }
    Atomics.store(this.brokenFlags, e.script, this.isBroken(e.script) ? 1 : 0);
    if (this.ready !== wasReady) this.onReadiness(this.ready);
  }

  /** For /metrics: restarts by reason, threads by state, failures and requests, per script. */
  families(process: number, stats: EngineStats): MetricFamily[] {
    const threads: MetricFamily['values'] = [];
    const failures: MetricFamily['values'] = [];
    const requests: MetricFamily['values'] = [];
    this.#names.forEach((script, i) => {
      const mine = stats.workers.filter((w) => w.script === i);
      for (const state of ['booting', 'idle', 'busy', 'broken'] as const) {
        threads.push({ value: mine.filter((w) => w.state === state).length, labels: { process, script, state } });
      }
      failures.push({ value: Math.max(0, ...mine.map((w) => w.failures ?? 0)), labels: { process, script } });
      requests.push({ value: mine.reduce((n, w) => n + w.requests, 0), labels: { process, script } });
    });
    return [
      counter('worker_script_restarts_total', 'Worker scripts started again, by reason: max_requests, max_memory, reload, watch, ended (by itself, between requests), killed (a timeout), fatal_error, exit, boot_failed.',
        this.#names.flatMap((script, i) => REASONS.map((reason) => ({ value: this.#restarts[i][reason], labels: { script, reason } })))),
      gauge('worker_script_threads', 'Threads of each worker script by state: booting, idle (waiting in tokio_handle_request()), busy, broken.', threads),
      gauge('worker_script_consecutive_failures', 'The most consecutive failed boots of a thread of each worker script.', failures),
      counter('worker_script_requests_total', 'Requests served by each worker script\'s loop.', requests),
    ];
  }
}
