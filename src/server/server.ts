// The HTTP server: one uWS handler walks each request down the path in DESIGN.md —
// protocol checks → router → static file | admission (503) → PHP engine → response.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Engine, PhpRequest, PhpResponse } from '../engine/engine.js';
import { send, sendError, type Exchange } from '../http/respond.js';
import uws, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from '../http/uws.js';
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

interface Incoming {
  method: string;
  url: string;
  query: string;
  headers: string[];
  contentLength: number;
  chunked: boolean;
  host: string;
  remoteAddr: string;
  arrived: number;
}

export class TokioServer {
  readonly #config: Config;
  readonly #engine: Engine;
  readonly #log: Logger;
  readonly #router: Router;
  readonly #admission: Admission;
  readonly #app: TemplatedApp;
  #listenSocket: us_listen_socket | null = null;
  #port = 0;
  #draining = false;
  readonly #running = new Set<number>();
  #idleWaiters: (() => void)[] = [];

  constructor(config: Config, engine: Engine, log: Logger) {
    this.#config = config;
    this.#engine = engine;
    this.#log = log;
    this.#router = new Router(config);
    this.#admission = new Admission(config.workers, config.queueCapacity);
    this.#app = config.tlsCert && config.tlsKey
      ? uws.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey })
      : uws.App();
    this.#app.any('/*', (res, req) => {
      try {
        this.#handle(res, req);
      } catch (err) {
        // a bug here must cost one request, not the process
        this.#log.error({ err }, 'request handler failed');
        const ex = { res, method: 'GET', aborted: false, responded: false };
        try {
          sendError(ex, 500, [], true);
        } catch {
          res.close();
        }
      }
    });
  }

  get port(): number {
    return this.#port;
  }

  listen(): Promise<number> {
    const { listenHost, listenPort } = this.#config;
    return new Promise((resolve, reject) => {
      this.#app.listen(listenHost, listenPort, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${listenHost}:${listenPort} (address in use or not allowed)`));
          return;
        }
        this.#listenSocket = socket;
        this.#port = uws.us_socket_local_port(socket);
        resolve(this.#port);
      });
    });
  }

  /**
   * Stops accepting and waits for requests in flight, up to `timeoutMs`; then stops the scripts
   * still running and closes every socket. Resolves false if scripts had to be stopped.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    if (this.#listenSocket) uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
    const drained = await this.#idleWithin(timeoutMs);
    if (!drained) {
      for (const id of this.#running) this.#engine.abort(id, 'kill');
      await this.#idleWithin(5000);
    }
    this.#app.close();
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

  #handle(res: HttpResponse, req: HttpRequest): void {
    const ex: Exchange = { res, method: req.getCaseSensitiveMethod(), aborted: false, responded: false };
    // attached at once: uWS needs it for every response not ended here (endWithoutBody counts)
    res.onAborted(() => {
      ex.aborted = true;
      ex.onAbort?.();
    });
    const headers: string[] = [];
    let contentLength = -1;
    let lengths = 0;
    let conflicting = false;
    let chunked = false;
    let host = '';
    req.forEach((name, value) => {
      headers.push(name, value);
      if (name === 'content-length') {
        const n = /^\d+$/.test(value) ? Number(value) : NaN;
        conflicting ||= Number.isNaN(n) || (lengths > 0 && n !== contentLength);
        contentLength = n;
        lengths++;
      } else if (name === 'transfer-encoding') {
        chunked = true;
      } else if (name === 'host') {
        host = value;
      }
    });
    const url = req.getUrl();
    const query = req.getQuery() ?? '';
    if (url.length + query.length > MAX_URI) return sendError(ex, 414, [], true);
    if (conflicting) return sendError(ex, 400, [], true);
    if (contentLength > this.#config.maxBodySize) return sendError(ex, 413, [], true);

    const route = this.#router.resolve(url, query);
    switch (route.kind) {
      case 'error':
        return sendError(ex, route.status);
      case 'redirect':
        return send(ex, 301, '', ['Location', route.location, 'Content-Type', 'text/html'],
          Buffer.from('<html><head><title>301 Moved Permanently</title></head><body><h1>301 Moved Permanently</h1></body></html>\n'));
      case 'static':
        return serveStatic(ex, route.file, route.stat, {
          ifNoneMatch: req.getHeader('if-none-match'),
          ifModifiedSince: req.getHeader('if-modified-since'),
          range: req.getHeader('range'),
          ifRange: req.getHeader('if-range'),
        });
    }
    if (this.#draining || !this.#admission.tryAdmit()) {
      return sendError(ex, 503, ['Retry-After', '1']);
    }
    const incoming: Incoming = {
      method: ex.method, url, query, headers, contentLength, chunked, host,
      remoteAddr: Buffer.from(res.getRemoteAddressAsText()).toString(), arrived: Date.now(),
    };
    const run = (body: Buffer | undefined) => this.#runPhp(ex, incoming, route, body);
    if (contentLength > 0 || chunked) this.#readBody(ex, incoming, run);
    else run(undefined);
  }

  #readBody(ex: Exchange, incoming: Incoming, then: (body: Buffer) => void): void {
    const max = this.#config.maxBodySize;
    const known = incoming.contentLength >= 0 && !incoming.chunked;
    const whole = known ? Buffer.allocUnsafe(incoming.contentLength) : undefined;
    const parts: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      this.#release();
      sendError(ex, 408, [], true);
    }, BODY_TIMEOUT_MS);
    ex.onAbort = () => {
      clearTimeout(timer);
      this.#release();
    };
    ex.res.onData((chunk, isLast) => {
      if (ex.responded) return;
      const bytes = new Uint8Array(chunk);
      if (received + bytes.length > max) {
        clearTimeout(timer);
        this.#release();
        sendError(ex, 413, [], true);
        return;
      }
      if (whole) whole.set(bytes, received);
      else parts.push(Buffer.from(bytes)); // copied: uWS reuses the memory after this call
      received += bytes.length;
      if (!isLast) return;
      clearTimeout(timer);
      ex.onAbort = undefined;
      then(whole ? whole.subarray(0, received) : Buffer.concat(parts, received));
    });
  }

  #runPhp(ex: Exchange, incoming: Incoming, route: { scriptFilename: string; scriptName: string; pathInfo: string }, body: Buffer | undefined): void {
    const config = this.#config;
    const request: PhpRequest = {
      method: incoming.method,
      uri: incoming.query ? `${incoming.url}?${incoming.query}` : incoming.url,
      scriptFilename: route.scriptFilename,
      scriptName: route.scriptName,
      pathInfo: route.pathInfo,
      documentRoot: this.#router.documentRoot,
      headers: incoming.headers,
      body,
      https: Boolean(config.tlsCert),
      serverName: incoming.host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'),
      serverAddr: config.listenHost,
      serverPort: this.#port,
      remoteAddr: incoming.remoteAddr,
      requestId: nextRequestId(),
      requestTime: incoming.arrived,
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
        else send(ex, r.status || 500, r.reason, r.headers, r.body);
      },
      (err: Error) => {
        this.#log.error({ err, requestId: request.requestId }, 'PHP engine failed the request');
        if (!ex.responded) sendError(ex, 503, ['Retry-After', '1']);
      },
    ).finally(() => {
      clearTimeout(timer);
      this.#running.delete(request.id!);
      this.#release();
    });
  }
}
