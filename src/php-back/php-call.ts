// One admitted PHP request, from the engine call to the last byte: its deadlines (QUEUE_TIMEOUT,
// REQUEST_TIMEOUT, SSE_TIMEOUT, heartbeats), its stream with backpressure, its answer. The call is
// also the engine's streaming hooks: one object per request rather than a closure per event.
import { randomBytes } from 'node:crypto';
import type { RequestBody } from '../body/request-body.js';
import type { Engine, ExecuteHooks, PhpRequest, PhpResponse } from '../engine/engine.js';
import { headerValue, sendError, type Exchange } from '../http/exchange.js';
import { addTraceHeaders, traceContext, traceHeaders, traceServerVars, type TraceContext } from '../middleware/trace.js';
import type { PhpRoute } from '../router/router.js';
import type { RequestHead } from '../transport/request-context.js';
import type { PhpBack } from './php-back.js';

// Request ids: a random process prefix and a counter, unique without a syscall per request.
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;
const nextRequestId = () => ID_PREFIX + (++idCounter).toString(16).padStart(8, '0');

// A script stopped for its timeout that still runs this long after is stuck in C code.
const STUCK_GRACE_MS = 10_000;

/** SERVER_NAME from a Host header: without its port, an IPv6 literal without brackets. */
function serverName(host: string): string {
  let end = host.length;
  for (let i = end - 1; i >= 0; i--) {
    const c = host.charCodeAt(i);
    if (c === 58 /* : */ && i < end - 1) { end = i; break; }
    if (c < 48 || c > 57) break;
  }
  return host.charCodeAt(0) === 91 /* [ */ && host.charCodeAt(end - 1) === 93 /* ] */ ? host.slice(1, end - 1) : host.slice(0, end);
}

/** what the deadline timer stops: the queue and run limits, an event stream's life, a heartbeat's wait */
type Expiry = 'check' | 'sse' | 'beat';

export class PhpCall implements ExecuteHooks {
  readonly #back: PhpBack;
  readonly #engine: Engine;
  readonly #ex: Exchange;
  readonly #request: PhpRequest;
  readonly #trace: TraceContext;
  readonly #traced: string[];
  readonly #arrived: number;
  #streaming = false; // status and headers went out; the body follows in parts
  #eventStream = false;
  #waitedTooLong = false;
  #unacked = 0;
  #deadline: NodeJS.Timeout | undefined;
  #expire: Expiry = 'check';

  constructor(back: PhpBack, engine: Engine, ex: Exchange, head: RequestHead, route: PhpRoute, workerScript: number | undefined,
    body: RequestBody | undefined, arrived: number) {
    const config = back.config;
    this.#back = back;
    this.#engine = engine;
    this.#ex = ex;
    this.#arrived = arrived;
    const headers = head.headers;
    this.#trace = traceContext((name) => headerValue(headers, name), nextRequestId);
    this.#traced = traceHeaders(this.#trace);
    // FastCGI: the front's CGI variables are $_SERVER, as php-fpm makes them
    const cgi = head.cgi;
    this.#request = {
      method: head.method,
      uri: cgi?.requestUri ?? (head.query ? `${head.url}?${head.query}` : head.url),
      query: cgi ? head.query : undefined,
      scriptFilename: route.scriptFilename,
      scriptName: route.scriptName,
      pathInfo: route.pathInfo,
      documentRoot: cgi?.documentRoot ?? back.documentRoot,
      phpValue: cgi?.phpValue,
      phpAdminValue: cgi?.phpAdminValue,
      headers,
      body,
      https: cgi ? cgi.https : Boolean(config.tlsCert),
      protocol: head.protocol,
      serverName: cgi?.serverName ?? serverName(headerValue(headers, 'host')),
      serverAddr: head.serverAddr,
      serverPort: head.serverPort,
      remoteAddr: ex.context?.clientAddr ?? head.remoteAddr,
      remotePort: head.remotePort,
      requestId: this.#trace.requestId,
      cgiParams: cgi?.raw,
      serverVars: traceServerVars(this.#trace),
      requestTime: arrived,
      heartbeatMaxMs: config.requestTimeout > 0 ? config.heartbeatMax : 0,
      eventStream: headerValue(headers, 'accept').includes('text/event-stream'),
      workerScript,
    };
  }

  start(): void {
    const { queueTimeout, requestTimeout } = this.#back.config;
    const ctx = this.#ex.context;
    if (ctx) {
      ctx.requestId = this.#trace.requestId;
      ctx.traceId = this.#trace.traceId;
    }
    const first = Math.min(queueTimeout || Infinity, requestTimeout || Infinity);
    if (first !== Infinity) this.#arm(first, 'check');
    // FastCGI: the PHP thread may write the response itself (one thread hop less)
    const loan = this.#ex.lend?.();
    if (loan) this.#request.fcgiAnswer = { fd: loan.fd, requestId: loan.requestId, headers: this.#traced };
    const answered = this.#engine.execute(this.#request, this);
    const id = this.#request.id!; // the engine's from execute() on
    this.#back.started(id, this.#trace.requestId, this.#trace.traceId);
    this.#ex.onAbort = abortOnDisconnect(this.#engine, id);
    if (loan) loan.claim = claimFor(this.#engine, id);
    answered.then((r) => this.#answered(r), (err: Error) => this.#failed(err));
  }

  // One timer for every limit. QUEUE_TIMEOUT counts the wait for a worker (FrankenPHP's
  // max_wait_time); REQUEST_TIMEOUT counts execution, as php-fpm's request_terminate_timeout:
  // time spent waiting is given back when the timer fires. SSE_TIMEOUT and heartbeats replace it.
  #arm(ms: number, expire: Expiry): void {
    clearTimeout(this.#deadline);
    this.#expire = expire;
    this.#deadline = ms > 0 ? setTimeout(this.#fire, ms) : undefined;
  }

  readonly #fire = (): void => {
    if (this.#expire === 'sse') return this.#stop('event stream reached SSE_TIMEOUT: script stopped');
    if (this.#expire === 'beat') return this.#stop('request stopped beating: script stopped');
    const { queueTimeout, requestTimeout } = this.#back.config;
    const id = this.#request.id!;
    const ran = this.#engine.runningFor(id);
    if (ran < 0) {
      const waited = Date.now() - this.#arrived;
      if (queueTimeout > 0 && waited >= queueTimeout) {
        this.#waitedTooLong = true;
        this.#engine.abort(id, 'kill'); // dequeued: answered 503 in #answered
        return;
      }
      this.#arm(Math.min(queueTimeout > 0 ? queueTimeout - waited : Infinity, requestTimeout || Infinity), 'check');
    } else if (requestTimeout > 0) {
      if (ran >= requestTimeout) this.#stop('request timed out: script stopped');
      else this.#arm(requestTimeout - ran, 'check');
    }
  };

  #stop(why: string): void {
    const engine = this.#engine;
    const id = this.#request.id!;
    const requestId = this.#trace.requestId;
    const back = this.#back;
    engine.abort(id, 'kill');
    back.metrics.timeouts++;
    back.log.warn({ requestId, uri: this.#request.uri }, why);
    setTimeout(() => {
      if (engine.runningFor(id) >= 0) back.stuck(requestId);
    }, STUCK_GRACE_MS).unref();
    if (this.#streaming) this.#ex.endStream();
    else sendError(this.#ex, 504, this.#traced);
  }

  onHeaders(status: number, reason: string, headers: string[], sse: boolean): void {
    if (this.#ex.responded) return;
    this.#streaming = true;
    const extra = sse ? ['Cache-Control', 'no-cache', 'X-Accel-Buffering', 'no'] : [];
    if (sse) {
      this.#eventStream = true;
      this.#back.metrics.sseStreams++;
      this.#arm(this.#back.config.sseTimeout, 'sse');
    }
    this.#ex.startStream(status, reason, addTraceHeaders([...withoutNames(headers, extra), ...extra], this.#traced));
  }

  onHints(status: number, headers: string[]): void {
    if (!this.#ex.responded && !this.#ex.aborted) this.#ex.sendInformational(status, headers);
  }

  onChunk(chunk: Buffer): void {
    const id = this.#request.id!;
    if (this.#ex.aborted || !this.#streaming) return this.#engine.ack(id, chunk.length);
    if (this.#ex.write(chunk)) return this.#engine.ack(id, chunk.length);
    // the socket is full: the PHP thread may go on until its window is used up
    if (this.#unacked === 0) this.#ex.onDrain(() => {
      this.#engine.ack(id, this.#unacked);
      this.#unacked = 0;
    });
    this.#unacked += chunk.length;
  }

  onFinish(status: number, reason: string, headers: string[], rest: Buffer): void {
    this.#answer(status, reason, addTraceHeaders(headers, this.#traced), rest);
  }

  onHeartbeat(ms: number): void {
    this.#arm(ms, 'beat');
  }

  #ended(): void {
    clearTimeout(this.#deadline);
    this.#back.ended(this.#request.id!, this.#trace.requestId);
    if (this.#eventStream) this.#back.metrics.sseStreams--;
  }

  #answered(r: PhpResponse): void {
    this.#ended();
    const ex = this.#ex;
    const metrics = this.#back.metrics;
    const ctx = ex.context;
    if (ctx) {
      ctx.worker = r.worker;
      ctx.queueMs = r.queueMs;
      ctx.execMs = r.execMs;
    }
    if (this.#waitedTooLong) metrics.rejected.wait_timeout++;
    else if (r.worker < 0 && r.aborted === 'disconnect') metrics.rejected.client_gone++;
    try {
      if (r.answeredBytes >= 0) return ex.answeredDirectly!(r.status, r.answeredBytes);
      if (r.finished) return;
      // stopped by a timeout or shutdown: what it wrote is incomplete
      if (r.aborted === 'kill') {
        if (this.#streaming) ex.endStream();
        else sendError(ex, 503, ['Retry-After', '1', ...this.#traced], true);
        return;
      }
      this.#answer(r.status || 500, r.reason, addTraceHeaders(r.headers, this.#traced), r.body);
    } catch (err) {
      this.#back.log.error({ err, requestId: this.#trace.requestId }, 'answering the request failed');
    }
  }

  #failed(err: Error): void {
    this.#ended();
    this.#back.log.error({ err, requestId: this.#trace.requestId }, 'PHP engine failed the request');
    sendError(this.#ex, 503, ['Retry-After', '1']);
  }

  /** The end of a PHP response: the whole of it, or the last part of a stream. */
  #answer(status: number, reason: string, headers: string[], body: Buffer): void {
    const ex = this.#ex;
    if (ex.aborted) return this.#engine.releaseBody(body);
    if (!this.#streaming) {
      if (ex.responded || ex.send(status, reason, headers, body)) this.#engine.releaseBody(body);
      return;
    }
    if (body.length) ex.write(body);
    ex.endStream();
  }
}

/**
 * The exchange's abort handler for a PHP request. Made out here, it holds the engine and the id
 * only: a handler over the call, stored on the exchange, kept each request's objects alive
 * through young-generation collections (a quarter of what the JS thread allocated was promoted,
 * scavenges took 5 ms instead of 0.2, hello world ran 25 % slower with a 10 ms p99).
 */
function abortOnDisconnect(engine: Engine, id: number): () => void {
  return () => engine.abort(id, 'disconnect');
}

/** Whether JS may still answer a request whose connection is lent (made out here, as abortOnDisconnect). */
function claimFor(engine: Engine, id: number): () => boolean {
  return () => engine.claim(id);
}

/** headers without the names that `extra` sets */
function withoutNames(headers: readonly string[], extra: readonly string[]): string[] {
  if (!extra.length) return [...headers];
  const names = new Set(extra.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (!names.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  return out;
}
