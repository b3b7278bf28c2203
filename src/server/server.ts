// The HTTP server: every request walks the path in DESIGN.md —
// protocol checks → middleware (request side) → router → static file | request body → admission
// (503) → PHP engine → middleware (response side) → response — whichever transport brought it
// (src/transport/). This is the HTTP front; PHP routes go on to the PHP back (src/php-back/).
import type { Config, ListenAddress } from '../config/config.js';
import { framing, type BodyFraming } from '../body/request-body.js';
import { cgiRoute } from '../fastcgi/cgi-route.js';
import type { Engine } from '../engine/engine.js';
import { headerValue, lingeringRefusal, sendError, type Exchange } from '../http/exchange.js';
import { refusal } from '../http/refusal.js';
import { builtInMiddleware } from '../middleware/built-in.js';
import { Chain, type Middleware } from '../middleware/chain.js';
import { Recorder } from '../metrics/recorder.js';
import type { Logger } from '../log.js';
import type { ProcessStatus } from '../internal-port/status.js';
import { PhpBack } from '../php-back/php-back.js';
import { Router } from '../router/router.js';
import type { SharedSockets } from '../transport/sockets.js';
import { transportsFor, type Transport } from '../transport/transport.js';
import type { CgiParams, RequestHead } from '../transport/request-context.js';
import { serveStatic } from '../static/serve-static.js';
import type { WorkerScripts } from '../worker-mode/lifecycle.js';
import { WorkerRoutes } from '../worker-mode/routes.js';

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

export class TokioServer {
  readonly #config: Config;
  readonly #php: PhpBack;
  readonly #log: Logger;
  readonly #router: Router;
  readonly #transports: Transport[];
  readonly #options: ServerOptions;
  readonly #chain: Chain;
  readonly #workerRoutes: WorkerRoutes | null;
  readonly #engine: Engine | null;
  /** what /metrics reports for this process */
  readonly metrics = new Recorder();
  #draining = false;
  #lastRequestAt = 0;

  constructor(config: Config, engine: Engine | null, log: Logger, options: ServerOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#engine = engine;
    this.#log = log;
    this.#router = new Router(config);
    this.#workerRoutes = config.workerScripts.length ? new WorkerRoutes(config.workerScripts, this.#router.documentRoot, config.indexFile) : null;
    this.#chain = new Chain([...builtInMiddleware(config, log, this.metrics, options.rateTableFd), ...options.middleware ?? []]);
    const onStuck = options.onStuck;
    this.#php = new PhpBack(config, engine, log, this.metrics, this.#router.documentRoot, {
      admissionCounts: options.admissionCounts,
      // with other processes on the socket, new connections go to the least loaded (native/gate/siblings.cc)
      onFree: (free, change) => { for (const t of this.#transports) t.poolChanged(free, change); },
      onStuck: onStuck && ((requestId, all) => {
        if (all) {
          for (const t of this.#transports) t.stopAccepting();
          this.refuseWhileStuck();
        }
        onStuck(requestId, all);
      }),
    });
    this.#transports = transportsFor(config, log, (head, raw) => {
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

  /** where it accepts connections, every transport's addresses */
  get addresses(): ListenAddress[] {
    return this.#transports.flatMap((t) => t.addresses);
  }

  /** The trace id of a request PHP is running, for its log lines; '' once it is over. */
  traceOf(requestId: string): string {
    return this.#php.traceOf(requestId);
  }

  /** php-fpm's status figures for this process: see src/internal-port/status.ts */
  status(): ProcessStatus {
    const a = this.#php.admission;
    const threads = this.#engine?.stats().workers.filter((w) => w.state !== 'stopped');
    // no PHP (EXECUTOR=stub): every thread there could be, busy with the requests running
    const live = threads?.length ?? this.#config.workers;
    const idle = threads?.filter((w) => w.state === 'idle').length ?? live - (a.inFlight - a.waiting);
    return {
      pm: this.#config.pm.mode, accepted: a.admitted, waiting: a.waiting, capacity: a.capacity,
      maxActive: a.maxActive, maxWaiting: a.maxWaiting, saturated: a.saturated, slow: this.metrics.slowRequests, live, idle,
    };
  }

  /** Serves on the supervisor's sockets or on sockets of its own; returns where. */
  listen(shared?: SharedSockets): ListenAddress[] {
    for (const t of this.#transports) {
      t.listen(shared);
      t.poolChanged(this.#php.admission.free, 0);
    }
    return this.addresses;
  }

  /**
   * Stops accepting and waits for requests in flight, up to `timeoutMs`; then stops the scripts
   * still running and closes every socket. Requests that arrive meanwhile on open connections
   * are served, with the connection closed after them. Resolves false if scripts had to be stopped.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    for (const t of this.#transports) t.stopAccepting();
    const deadline = Date.now() + timeoutMs;
    const drained = await this.#php.idleWithin(timeoutMs);
    if (!drained) {
      this.#php.stopAll();
      await this.#php.idleWithin(5000);
    }
    while (Date.now() < deadline && Date.now() - this.#lastRequestAt < DRAIN_QUIET_MS) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_QUIET_MS - (Date.now() - this.#lastRequestAt)));
    }
    for (const t of this.#transports) t.close();
    this.#router.close();
    return drained;
  }

  #handle(head: RequestHead, ex: Exchange): void {
    this.#lastRequestAt = Date.now();
    ex.closeAfter = this.#draining; // served, and the client moves to a process that stays
    // a FastCGI front (nginx) has already refused what HTTP refuses
    const refused = head.cgi ? undefined : refusal(head);
    if (refused) return sendError(ex, refused, [], true);
    const body = framing(head.headers);
    if (body.conflicting) return sendError(ex, 400, [], true);
    if (body.contentLength > this.#config.maxBodySize) {
      const drop = lingeringRefusal(ex, 413);
      return ex.readBody((chunk, last) => drop(chunk.length, last), this.#config.bodyTimeout);
    }
    if (this.#chain.answeredEarly(ex)) return;
    if (head.cgi) return this.#serveScript(head, head.cgi, ex, body);

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
    if (ex.context) ex.context.upstream = 'php';
    if (worker && this.#options.workerScripts?.isBroken(worker.script)) return sendError(ex, 503, ['Retry-After', '1']);
    this.#php.serve(ex, head, route, worker?.script, body);
  }

  /** FastCGI: the front chose the script; php-fpm's answers when it is missing or not PHP. */
  #serveScript(head: RequestHead, cgi: CgiParams, ex: Exchange, body: BodyFraming): void {
    const route = cgiRoute(cgi);
    if (route.kind === 'refused') {
      this.#log.warn({ uri: head.url }, route.log);
      if (ex.context) ex.context.serverMade = true;
      ex.send(route.status, '', ['Content-type', 'text/html; charset=UTF-8'], Buffer.from(route.body));
      return;
    }
    // worker mode: the worker script whose file the front named (or whose match pattern the URI fits)
    const worker = this.#workerRoutes?.target(head.url, route);
    if (ex.context) ex.context.upstream = 'php';
    if (worker && this.#options.workerScripts?.isBroken(worker.script)) return sendError(ex, 503, ['Retry-After', '1']);
    this.#php.serve(ex, head, worker?.route ?? route, worker?.script, body);
  }

  /**
   * Every PHP thread is held by a stuck script, and no loop accepts: new connections wait in the
   * shared socket's backlog for the replacement; requests on open connections are answered with
   * Connection: close, so their clients move to it.
   */
  refuseWhileStuck(): void {
    this.#draining = true;
  }
}
