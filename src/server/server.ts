// The HTTP server: every request walks the path in DESIGN.md —
// protocol checks → middleware (request side) → router → static file | request body → admission
// (503) → PHP engine → middleware (response side) → response — whichever transport brought it
// (uWebSockets.js, or Node's http for what uWS refuses).
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import { discardBody, framing, readBody, type RequestBody } from '../body/request-body.js';
import type { Engine, PhpRequest, PhpResponse } from '../engine/engine.js';
import { lingeringRefusal, sendError, type Exchange, type RequestHead } from '../http/exchange.js';
import { Listener, type SharedSocket } from '../http/listener.js';
import { refusal } from '../http/refusal.js';
import { builtInMiddleware } from '../middleware/built-in.js';
import { Chain, type Middleware } from '../middleware/chain.js';
import { Recorder } from '../metrics/recorder.js';
import { addTraceHeaders, traceContext, traceHeaders, traceServerVars } from '../middleware/trace.js';
import type { Logger } from '../log.js';
import type { ProcessStatus } from '../internal-port/status.js';
import { Admission } from '../queue/admission.js';
import { Router, type PhpRoute } from '../router/router.js';
import { serveStatic } from '../static/serve-static.js';
import type { WorkerScripts } from '../worker-mode/lifecycle.js';
import { WorkerRoutes } from '../worker-mode/routes.js';

// Request ids: a random process prefix and a counter, unique without a syscall per request.
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;
const nextRequestId = () => ID_PREFIX + (++idCounter).toString(16).padStart(8, '0');

// A script stopped for its timeout that still runs this long after is stuck in C code.
const STUCK_GRACE_MS = 10_000;
// Draining, connections stay open until none has brought a request for this long: a keep-alive
// client gets its next answer with Connection: close, instead of a reset as it reuses the connection.
const DRAIN_QUIET_MS = 1_000;

export interface ServerOptions {
  /**
   * A script is stuck where PHP cannot stop it: its thread stays taken until the process ends.
   * Given, the caller replaces this process; once every thread is stuck (`all`) this server stops
   * accepting, and the caller stops the process's other event loops.
   */
  onStuck?: (requestId: string, all: boolean) => void;
  /** the library user's own middleware, beside the built-in ones the configuration enables */
  middleware?: Middleware[];
  /** RATE_LIMIT's table, shared with sibling processes (default: one of this server's own) */
  rateTableFd?: number;
  /** worker mode: the worker scripts' state, for the requests of a broken one (503) */
  workerScripts?: Pick<WorkerScripts, 'isBroken'>;
  /** the admission queue's counts, shared with the other event loops feeding the same pool */
  admissionCounts?: SharedArrayBuffer;
}

// USE_STUB=1: what every PHP route answers, to measure the HTTP layer alone
const STUB_BODY = Buffer.from('Hello from the tokio-php stub executor: no PHP ran.\n');
const STUB_HEADERS = ['Content-Type', 'text/plain; charset=utf-8'];

/** The value of a header in a lower-case name/value list, '' when absent. */
function headerValue(headers: readonly string[], name: string): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return '';
}

export class TokioServer {
  readonly #config: Config;
  readonly #engine: Engine | null; // null: the stub executor
  readonly #log: Logger;
  readonly #router: Router;
  readonly #admission: Admission;
  readonly #listener: Listener;
  readonly #running = new Set<number>();
  readonly #traces = new Map<string, string>(); // request id -> trace id, while PHP runs it
  readonly #options: ServerOptions;
  readonly #chain: Chain;
  readonly #workerRoutes: WorkerRoutes | null;
  /** what /metrics reports for this process */
  readonly metrics = new Recorder();
  #draining = false;
  #lastRequestAt = 0;
  #idleWaiters: (() => void)[] = [];
  #inFlight = 0; // this loop's PHP requests: the admission's count is the process's, every loop's

  constructor(config: Config, engine: Engine | null, log: Logger, options: ServerOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#engine = engine;
    this.#log = log;
    this.#router = new Router(config);
    this.#workerRoutes = config.workerScripts.length ? new WorkerRoutes(config.workerScripts, this.#router.documentRoot, config.indexFile) : null;
    this.#chain = new Chain([...builtInMiddleware(config, log, this.metrics, options.rateTableFd), ...options.middleware ?? []]);
    // with other processes on the socket, new connections go to the least loaded (native/gate/siblings.cc)
    this.#admission = new Admission(config.workers, config.queueCapacity,
      (free, change) => this.#listener.setFree(free, change), options.admissionCounts);
    this.#listener = new Listener(config, log, (head, raw) => {
      const ex = this.#chain.wrap(raw, head);
      try {
        this.#handle(head, ex);
      } catch (err) {
        // a bug here must cost one request, not the process
        this.#log.error({ err }, 'request handler failed');
        sendError(ex, 500, [], true);
      }
    });
  }

  get port(): number {
    return this.#listener.port;
  }

  /** The trace id of a request PHP is running, for its log lines; '' once it is over. */
  traceOf(requestId: string): string {
    return this.#traces.get(requestId) ?? '';
  }

  /** php-fpm's status figures for this process: see src/internal-port/status.ts */
  status(): ProcessStatus {
    const a = this.#admission;
    return {
      accepted: a.admitted, active: a.inFlight - a.waiting, waiting: a.waiting, capacity: a.capacity,
      maxActive: a.maxActive, maxWaiting: a.maxWaiting, saturated: a.saturated, workers: this.#config.workers,
    };
  }

  /** Serves on the supervisor's socket or on a socket of its own; returns the port. */
  listen(shared?: SharedSocket): number {
    const port = this.#listener.listen(shared);
    this.#listener.setFree(this.#admission.free, 0);
    return port;
  }

  /**
   * Stops accepting and waits for requests in flight, up to `timeoutMs`; then stops the scripts
   * still running and closes every socket. Requests that arrive meanwhile on open connections
   * are served, with the connection closed after them. Resolves false if scripts had to be stopped.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    this.#listener.stopAccepting();
    const deadline = Date.now() + timeoutMs;
    const drained = await this.#idleWithin(timeoutMs);
    if (!drained) {
      for (const id of this.#running) this.#engine?.abort(id, 'kill');
      await this.#idleWithin(5000);
    }
    while (Date.now() < deadline && Date.now() - this.#lastRequestAt < DRAIN_QUIET_MS) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_QUIET_MS - (Date.now() - this.#lastRequestAt)));
    }
    this.#listener.close();
    this.#router.close();
    return drained;
  }

  async #idleWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      this.#idle().then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
    ]);
    clearTimeout(timer);
    return idle;
  }

  #idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #release(): void {
    this.#admission.release();
    if (--this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #handle(head: RequestHead, ex: Exchange): void {
    this.#lastRequestAt = Date.now();
    ex.closeAfter = this.#draining; // served, and the client moves to a process that stays
    const refused = refusal(head);
    if (refused) return sendError(ex, refused, [], true);
    const body = framing(head.headers);
    if (body.conflicting) return sendError(ex, 400, [], true);
    if (body.contentLength > this.#config.maxBodySize) {
      const drop = lingeringRefusal(ex, 413);
      return ex.readBody((chunk, last) => drop(chunk.length, last), this.#config.bodyTimeout);
    }
    if (this.#chain.answeredEarly(ex)) return;

    let route = this.#router.resolve(head.url, head.query);
    const worker = this.#workerRoutes?.target(head.url, route);
    if (worker) route = worker.route;
    switch (route.kind) {
      case 'error':
        return sendError(ex, route.status);
      case 'redirect':
        ex.send(301, '', ['Location', route.location, 'Content-Type', 'text/html'],
          Buffer.from('<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1></body></html>\n'));
        return;
      case 'static':
        // nginx's static module answers only GET and HEAD
        if (head.method !== 'GET' && head.method !== 'HEAD') return sendError(ex, 405, ['Allow', 'GET, HEAD']);
        if (ex.context) ex.context.upstream = 'static';
        return serveStatic(ex, route.file, route.stat, {
          ifNoneMatch: headerValue(head.headers, 'if-none-match'),
          ifModifiedSince: headerValue(head.headers, 'if-modified-since'),
          range: headerValue(head.headers, 'range'),
          ifRange: headerValue(head.headers, 'if-range'),
          acceptEncoding: headerValue(head.headers, 'accept-encoding'),
          precompressed: this.#config.compression,
        });
    }
    const engine = this.#engine;
    if (ex.context) ex.context.upstream = 'php';
    if (!engine) {
      ex.send(200, '', STUB_HEADERS, STUB_BODY);
      return;
    }
    if (worker && this.#options.workerScripts?.isBroken(worker.script)) return sendError(ex, 503, ['Retry-After', '1']);
    const admit = (content: RequestBody | undefined) => {
      if (!this.#admission.tryAdmit()) {
        discardBody(content);
        this.metrics.rejected.queue_full++;
        return sendError(ex, 503, ['Retry-After', '1']);
      }
      this.#inFlight++;
      this.#runPhp(engine, ex, head, route, worker?.script, content, Date.now());
    };
    if (body.contentLength > 0 || body.chunked) readBody(ex, body, this.#config, admit);
    else admit(undefined);
  }

  #stuckScript(requestId: string): void {
    if (!this.#options.onStuck) return;
    const all = this.#admission.stuck() >= this.#config.workers;
    if (all) {
      this.#listener.stopAccepting();
      this.refuseWhileStuck();
    }
    this.#options.onStuck(requestId, all);
  }

  /**
   * Every PHP thread is held by a stuck script, and no loop accepts: new connections wait in the
   * shared socket's backlog for the replacement; requests on open connections are answered with
   * Connection: close, so their clients move to it.
   */
  refuseWhileStuck(): void {
    this.#draining = true;
  }

  #runPhp(engine: Engine, ex: Exchange, head: RequestHead, route: PhpRoute, workerScript: number | undefined,
    body: RequestBody | undefined, arrived: number): void {
    const config = this.#config;
    const header = (name: string) => headerValue(head.headers, name);
    const trace = traceContext(header, nextRequestId);
    const traced = traceHeaders(trace);
    const host = header('host');
    const request: PhpRequest = {
      method: head.method,
      uri: head.query ? `${head.url}?${head.query}` : head.url,
      scriptFilename: route.scriptFilename,
      scriptName: route.scriptName,
      pathInfo: route.pathInfo,
      documentRoot: this.#router.documentRoot,
      headers: head.headers,
      body,
      https: Boolean(config.tlsCert),
      protocol: head.protocol,
      serverName: host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'),
      serverAddr: head.serverAddr,
      serverPort: this.#listener.port,
      remoteAddr: ex.context?.clientAddr ?? head.remoteAddr,
      remotePort: head.remotePort,
      requestId: trace.requestId,
      serverVars: traceServerVars(trace),
      requestTime: arrived,
      heartbeatMaxMs: config.requestTimeout > 0 ? config.heartbeatMax : 0,
      eventStream: header('accept').includes('text/event-stream'),
      workerScript,
    };
    this.#traces.set(trace.requestId, trace.traceId);
    const ctx = ex.context;
    if (ctx) {
      ctx.requestId = trace.requestId;
      ctx.traceId = trace.traceId;
    }
    let streaming = false; // status and headers went out; the body follows in parts
    let eventStream = false;
    let waitedTooLong = false;
    let unacked = 0;
    let deadline: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      engine.abort(request.id!, 'kill');
      this.metrics.timeouts++;
      this.#log.warn({ requestId: trace.requestId, uri: request.uri }, why);
      setTimeout(() => {
        if (engine.runningFor(request.id!) >= 0) this.#stuckScript(trace.requestId);
      }, STUCK_GRACE_MS).unref();
      if (streaming) ex.endStream();
      else sendError(ex, 504, traced);
    };
    const armDeadline = (ms: number, expire: () => void) => {
      clearTimeout(deadline);
      deadline = ms > 0 ? setTimeout(expire, ms) : undefined;
    };
    // One timer for both limits. QUEUE_TIMEOUT counts the wait for a worker (FrankenPHP's
    // max_wait_time); REQUEST_TIMEOUT counts execution, as php-fpm's request_terminate_timeout:
    // time spent waiting is given back when the timer fires.
    const { queueTimeout, requestTimeout } = config;
    const checkDeadlines = () => {
      const ran = engine.runningFor(request.id!);
      if (ran < 0) {
        const waited = Date.now() - arrived;
        if (queueTimeout > 0 && waited >= queueTimeout) {
          waitedTooLong = true;
          engine.abort(request.id!, 'kill'); // dequeued: answered 503 below
          return;
        }
        armDeadline(Math.min(queueTimeout > 0 ? queueTimeout - waited : Infinity, requestTimeout || Infinity), checkDeadlines);
      } else if (requestTimeout > 0) {
        if (ran >= requestTimeout) stop('request timed out: script stopped');
        else armDeadline(requestTimeout - ran, checkDeadlines);
      }
    };
    const first = Math.min(queueTimeout || Infinity, requestTimeout || Infinity);
    if (first !== Infinity) armDeadline(first, checkDeadlines);
    const write = (chunk: Buffer) => {
      if (ex.write(chunk)) return engine.ack(request.id!, chunk.length);
      // the socket is full: the PHP thread may go on until its window is used up
      if (unacked === 0) ex.onDrain(() => {
        engine.ack(request.id!, unacked);
        unacked = 0;
      });
      unacked += chunk.length;
    };
    const hooks = {
      onHeaders: (status: number, reason: string, headers: string[], sse: boolean) => {
        if (ex.responded) return;
        streaming = true;
        const extra = sse ? ['Cache-Control', 'no-cache', 'X-Accel-Buffering', 'no'] : [];
        if (sse) {
          eventStream = true;
          this.metrics.sseStreams++;
          armDeadline(config.sseTimeout, () => stop('event stream reached SSE_TIMEOUT: script stopped'));
        }
        ex.startStream(status, reason, addTraceHeaders([...withoutNames(headers, extra), ...extra], traced));
      },
      onChunk: (chunk: Buffer) => {
        if (ex.aborted || !streaming) return engine.ack(request.id!, chunk.length);
        write(chunk);
      },
      onFinish: (status: number, reason: string, headers: string[], rest: Buffer) => this.#answer(engine, ex, streaming, status, reason, addTraceHeaders(headers, traced), rest),
      onHeartbeat: (ms: number) => armDeadline(ms, () => stop('request stopped beating: script stopped')),
    };
    const done = () => {
      clearTimeout(deadline);
      this.#running.delete(request.id!);
      this.#traces.delete(trace.requestId);
      this.#release();
      if (eventStream) this.metrics.sseStreams--;
    };
    const answered = engine.execute(request, hooks);
    ex.onAbort = abortOnDisconnect(engine, request.id!); // the id is the engine's from execute() on
    answered.then(
      (r: PhpResponse) => {
        done();
        if (ctx) {
          ctx.worker = r.worker;
          ctx.queueMs = r.queueMs;
          ctx.execMs = r.execMs;
        }
        if (waitedTooLong) this.metrics.rejected.wait_timeout++;
        else if (r.worker < 0 && r.aborted === 'disconnect') this.metrics.rejected.client_gone++;
        try {
          if (r.finished) return;
          // stopped by a timeout or shutdown: what it wrote is incomplete
          if (r.aborted === 'kill') {
            if (streaming) ex.endStream();
            else sendError(ex, 503, ['Retry-After', '1', ...traced], true);
            return;
          }
          this.#answer(engine, ex, streaming, r.status || 500, r.reason, addTraceHeaders(r.headers, traced), r.body);
        } catch (err) {
          this.#log.error({ err, requestId: trace.requestId }, 'answering the request failed');
        }
      },
      (err: Error) => {
        done();
        this.#log.error({ err, requestId: trace.requestId }, 'PHP engine failed the request');
        sendError(ex, 503, ['Retry-After', '1']);
      },
    );
    this.#running.add(request.id!);
  }

  /** The end of a PHP response: the whole of it, or the last part of a stream. */
  #answer(engine: Engine, ex: Exchange, streaming: boolean, status: number, reason: string, headers: string[], body: Buffer): void {
    if (ex.aborted) return engine.releaseBody(body);
    if (!streaming) {
      if (ex.responded || ex.send(status, reason, headers, body)) engine.releaseBody(body);
      return;
    }
    if (body.length) ex.write(body);
    ex.endStream();
  }
}

/**
 * The exchange's abort handler for a PHP request. Made out here, it holds the engine and the id
 * only: a closure over #runPhp's scope, stored on the exchange, kept each request's objects alive
 * through young-generation collections (a quarter of what the JS thread allocated was promoted,
 * scavenges took 5 ms instead of 0.2, hello world ran 25 % slower with a 10 ms p99).
 */
function abortOnDisconnect(engine: Engine, id: number): () => void {
  return () => engine.abort(id, 'disconnect');
}

/** headers without the names that `extra` sets */
function withoutNames(headers: readonly string[], extra: readonly string[]): string[] {
  if (!extra.length) return [...headers];
  const names = new Set(extra.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (!names.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  return out;
}
