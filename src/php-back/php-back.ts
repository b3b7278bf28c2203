// The PHP back of the request path: a PHP route's body is read, the request admitted to the
// pool's queue (503 beyond it) and run on the engine (php-call.ts). The HTTP front
// (src/server/server.ts) brings it requests from any transport.
import type { Config } from '../config/config.js';
import { discardBody, readBody, type BodyFraming, type RequestBody } from '../body/request-body.js';
import type { Engine } from '../engine/engine.js';
import { sendError, type Exchange } from '../http/exchange.js';
import type { Logger } from '../log.js';
import type { Recorder } from '../metrics/recorder.js';
import { Admission } from '../queue/admission.js';
import type { PhpRoute } from '../router/router.js';
import type { RequestHead } from '../transport/request-context.js';
import { PhpCall } from './php-call.js';

// USE_STUB=1: what every PHP route answers, to measure the HTTP layer alone
const STUB_BODY = Buffer.from('Hello from the tokio-php stub executor: no PHP ran.\n');
const STUB_HEADERS = ['Content-Type', 'text/plain; charset=utf-8'];

export interface PhpBackOptions {
  /** the admission queue's counts, shared with the other event loops feeding the same pool */
  admissionCounts?: SharedArrayBuffer;
  /** told how many PHP threads are free after each admission (+1) and release (-1) */
  onFree: (free: number, change: 1 | -1) => void;
  /** a script is stuck where PHP cannot stop it; `all`: every thread of the pool is */
  onStuck?: (requestId: string, all: boolean) => void;
}

export class PhpBack {
  readonly admission: Admission;
  readonly config: Config;
  readonly engine: Engine | null; // null: the stub executor
  readonly log: Logger;
  readonly metrics: Recorder;
  readonly documentRoot: string;
  readonly #running = new Set<number>();
  readonly #traces = new Map<string, string>(); // request id -> trace id, while PHP runs it
  readonly #onStuck?: (requestId: string, all: boolean) => void;
  #inFlight = 0; // this loop's PHP requests: the admission's count is the process's, every loop's
  #idleWaiters: (() => void)[] = [];

  constructor(config: Config, engine: Engine | null, log: Logger, metrics: Recorder, documentRoot: string, options: PhpBackOptions) {
    this.config = config;
    this.engine = engine;
    this.log = log;
    this.metrics = metrics;
    this.documentRoot = documentRoot;
    this.#onStuck = options.onStuck;
    this.admission = new Admission(config.workers, config.queueCapacity, options.onFree, options.admissionCounts);
  }

  /** Reads the body the head announces, then admits the request (or answers 503) and runs it. */
  serve(ex: Exchange, head: RequestHead, route: PhpRoute, workerScript: number | undefined, framing: BodyFraming): void {
    const engine = this.engine;
    if (!engine) {
      ex.send(200, '', STUB_HEADERS, STUB_BODY);
      return;
    }
    const arrived = Date.now();
    const admit = (body: RequestBody | undefined) => {
      if (!this.admission.tryAdmit()) {
        discardBody(body);
        this.metrics.rejected.queue_full++;
        return sendError(ex, 503, ['Retry-After', '1']);
      }
      this.#inFlight++;
      new PhpCall(this, engine, ex, head, route, workerScript, body, arrived).start();
    };
    if (framing.contentLength > 0 || framing.chunked) readBody(ex, framing, this.config, admit);
    else admit(undefined);
  }

  /** The trace id of a request PHP is running, for its log lines; '' once it is over. */
  traceOf(requestId: string): string {
    return this.#traces.get(requestId) ?? '';
  }

  /** A call started on the engine as `id`. */
  started(id: number, requestId: string, traceId: string): void {
    this.#running.add(id);
    this.#traces.set(requestId, traceId);
  }

  /** A call's engine request is over, whatever its answer. */
  ended(id: number, requestId: string): void {
    this.#running.delete(id);
    this.#traces.delete(requestId);
    this.admission.release();
    if (--this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** A script stopped for its timeout still runs: it is stuck in C code. */
  stuck(requestId: string): void {
    if (!this.#onStuck) return;
    this.#onStuck(requestId, this.admission.stuck() >= this.config.workers);
  }

  /** Resolves true once this loop runs no PHP request, false if that takes longer than `ms`. */
  async idleWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      this.#inFlight === 0 ? Promise.resolve(true) : new Promise<boolean>((resolve) => this.#idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
    ]);
    clearTimeout(timer);
    return idle;
  }

  /** Stops every script this loop runs. */
  stopAll(): void {
    for (const id of this.#running) this.engine?.abort(id, 'kill');
  }
}
