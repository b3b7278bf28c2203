// The HTTP server: every request walks the path in DESIGN.md —
// protocol checks → router → static file | admission (503) → PHP engine → response —
// whichever transport brought it (uWebSockets.js, or Node's http for what uWS refuses).
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Engine, PhpRequest, PhpResponse } from '../engine/engine.js';
import { sendError, type Exchange, type RequestHead } from '../http/exchange.js';
import { Listener } from '../http/listener.js';
import type { Logger } from '../log.js';
import { Admission } from '../queue/admission.js';
import { Router } from '../router/router.js';
import { serveStatic } from '../static/serve-static.js';

// Request ids: a random process prefix and a counter, unique without a syscall per request.
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;
const nextRequestId = () => ID_PREFIX + (++idCounter).toString(16).padStart(8, '0');

const MAX_URI = 8192; // nginx: large_client_header_buffers 4 8k
const BODY_TIMEOUT_MS = 60_000; // nginx: client_body_timeout 60s

/** The value of a header in a lower-case name/value list, '' when absent. */
function headerValue(headers: readonly string[], name: string): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return '';
}

interface BodyFraming {
  contentLength: number;
  chunked: boolean;
  /** several Content-Length values that disagree, or one that is not a number */
  conflicting: boolean;
}

function framing(headers: readonly string[]): BodyFraming {
  let contentLength = -1;
  let lengths = 0;
  let conflicting = false;
  let chunked = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'content-length') {
      const n = /^\d+$/.test(headers[i + 1]) ? Number(headers[i + 1]) : NaN;
      conflicting ||= Number.isNaN(n) || (lengths > 0 && n !== contentLength);
      contentLength = n;
      lengths++;
    } else if (headers[i] === 'transfer-encoding') {
      chunked = true;
    }
  }
  return { contentLength, chunked, conflicting };
}

export class TokioServer {
  readonly #config: Config;
  readonly #engine: Engine;
  readonly #log: Logger;
  readonly #router: Router;
  readonly #admission: Admission;
  readonly #listener: Listener;
  readonly #running = new Set<number>();
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  constructor(config: Config, engine: Engine, log: Logger) {
    this.#config = config;
    this.#engine = engine;
    this.#log = log;
    this.#router = new Router(config);
    this.#admission = new Admission(config.workers, config.queueCapacity);
    this.#listener = new Listener(config, log, (head, ex) => {
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

  listen(): Promise<number> {
    return this.#listener.listen();
  }

  /**
   * Stops accepting and waits for requests in flight, up to `timeoutMs`; then stops the scripts
   * still running and closes every socket. Resolves false if scripts had to be stopped.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    this.#listener.stopAccepting();
    const drained = await this.#idleWithin(timeoutMs);
    if (!drained) {
      for (const id of this.#running) this.#engine.abort(id, 'kill');
      await this.#idleWithin(5000);
    }
    this.#listener.close();
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
    if (this.#admission.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #release(): void {
    this.#admission.release();
    if (this.#admission.inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #handle(head: RequestHead, ex: Exchange): void {
    if (head.url.length + head.query.length > MAX_URI) return sendError(ex, 414, [], true);
    const body = framing(head.headers);
    if (body.conflicting) return sendError(ex, 400, [], true);
    if (body.contentLength > this.#config.maxBodySize) return sendError(ex, 413, [], true);

    const route = this.#router.resolve(head.url, head.query);
    switch (route.kind) {
      case 'error':
        return sendError(ex, route.status);
      case 'redirect':
        return ex.send(301, '', ['Location', route.location, 'Content-Type', 'text/html'],
          Buffer.from('<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1></body></html>\n'));
      case 'static':
        return serveStatic(ex, route.file, route.stat, {
          ifNoneMatch: headerValue(head.headers, 'if-none-match'),
          ifModifiedSince: headerValue(head.headers, 'if-modified-since'),
          range: headerValue(head.headers, 'range'),
          ifRange: headerValue(head.headers, 'if-range'),
        });
    }
    if (this.#draining || !this.#admission.tryAdmit()) {
      return sendError(ex, 503, ['Retry-After', '1']);
    }
    const arrived = Date.now();
    const run = (content: Buffer | undefined) => this.#runPhp(ex, head, route, content, arrived);
    if (body.contentLength > 0 || body.chunked) this.#readBody(ex, body, run);
    else run(undefined);
  }

  #readBody(ex: Exchange, framing: BodyFraming, then: (body: Buffer) => void): void {
    const max = this.#config.maxBodySize;
    const whole = framing.chunked ? undefined : Buffer.allocUnsafe(framing.contentLength);
    const parts: Buffer[] = [];
    let received = 0;
    const fail = (status: number) => {
      clearTimeout(timer);
      ex.onAbort = undefined;
      this.#release();
      sendError(ex, status, [], true);
    };
    const timer = setTimeout(() => fail(408), BODY_TIMEOUT_MS);
    ex.onAbort = () => {
      clearTimeout(timer);
      this.#release();
    };
    ex.readBody((chunk, isLast) => {
      if (ex.responded) return;
      if (received + chunk.length > max) return fail(413);
      if (whole) whole.set(chunk, received);
      else if (chunk.length) parts.push(Buffer.from(chunk)); // copied: the transport reuses the memory
      received += chunk.length;
      if (!isLast) return;
      clearTimeout(timer);
      ex.onAbort = undefined;
      then(whole ? whole.subarray(0, received) : Buffer.concat(parts, received));
    });
  }

  #runPhp(ex: Exchange, head: RequestHead, route: { scriptFilename: string; scriptName: string; pathInfo: string },
    body: Buffer | undefined, arrived: number): void {
    const config = this.#config;
    const host = headerValue(head.headers, 'host');
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
      serverAddr: config.listenHost,
      serverPort: this.#listener.port,
      remoteAddr: head.remoteAddr,
      remotePort: head.remotePort,
      requestId: nextRequestId(),
      requestTime: arrived,
    };
    let timer: NodeJS.Timeout | undefined;
    if (config.requestTimeout > 0) {
      timer = setTimeout(() => {
        this.#engine.abort(request.id!, 'kill');
        this.#log.warn({ requestId: request.requestId, uri: request.uri }, 'request timed out: script stopped');
        sendError(ex, 504);
      }, config.requestTimeout);
    }
    ex.onAbort = () => {
      this.#engine.abort(request.id!, 'disconnect');
    };
    const running = this.#engine.execute(request);
    this.#running.add(request.id!);
    running.then(
      (r: PhpResponse) => {
        if (ex.responded) return;
        // stopped by shutdown: what it wrote is incomplete
        if (r.aborted) sendError(ex, 503, ['Retry-After', '1'], true);
        else ex.send(r.status || 500, r.reason, r.headers, r.body);
      },
      (err: Error) => {
        this.#log.error({ err, requestId: request.requestId }, 'PHP engine failed the request');
        sendError(ex, 503, ['Retry-After', '1']);
      },
    ).finally(() => {
      clearTimeout(timer);
      this.#running.delete(request.id!);
      this.#release();
    });
  }
}
