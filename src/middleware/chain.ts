// The middleware chain: every response — static files, PHP (whole or streamed), SSE, the
// server's own errors — passes through one ChainedExchange, on every transport. Hooks run in
// priority order, lower first on the request side and last on the response side, as in
// fastify's lifecycle: onRequest (may answer early), onSend (status, headers, a body filter),
// onResponse (after the last byte: logs and metrics). With no middleware, requests use the
// transport's own Exchange and pay nothing.
import { performance } from 'node:perf_hooks';
import type { Readable, Transform } from 'node:stream';
import { headerValue, type Exchange, type Loan } from '../http/exchange.js';
import type { RequestContext, RequestHead, Upstream } from '../transport/request-context.js';

/** The response as onSend sees it: change status or headers through it. */
export interface Reply {
  status: number;
  reason: string;
  /** name, value, ...: read-only; change them with setHeader/removeHeader */
  readonly headers: readonly string[];
  /** the body goes out in parts as it is made (PHP's flush(), SSE) */
  readonly streamed: boolean;
  /** the body's length; -1 when unknown (streamed) */
  readonly length: number;
  /** HEAD, 204, 304: no body goes out */
  readonly bodyless: boolean;
  /** a response header's value, '' when absent */
  getHeader(name: string): string;
  setHeader(name: string, value: string): void;
  removeHeader(name: string): void;
}

/** What onResponse sees once the response is over. */
export interface Finished {
  readonly status: number;
  /** body bytes handed to the socket */
  readonly bytes: number;
  readonly durationMs: number;
  /** the client left before the end */
  readonly aborted: boolean;
}

/** An early answer from onRequest. */
export interface Answer {
  status: number;
  headers?: string[];
  body?: string | Uint8Array;
}

export interface Middleware {
  readonly name: string;
  /** lower runs first on the request, last on the response (default 100) */
  readonly priority?: number;
  /** return an Answer to reply at once: routing and PHP are skipped */
  onRequest?(ctx: RequestContext): Answer | undefined;
  /** may change status and headers; may return a Transform the body goes through (compression) */
  onSend?(ctx: RequestContext, reply: Reply): Transform | undefined;
  onResponse?(ctx: RequestContext, done: Finished): void;
}

const NO_HEADERS: readonly string[] = [];

export class Chain {
  readonly #requestSide: Middleware[];
  readonly #sendSide: Middleware[];
  readonly #responseSide: Middleware[];
  /** no middleware: requests keep the transport's own exchange */
  readonly empty: boolean;

  constructor(middleware: readonly Middleware[]) {
    const names = new Set<string>();
    for (const m of middleware) {
      if (names.has(m.name)) throw new Error(`two middleware are named ${JSON.stringify(m.name)}`);
      names.add(m.name);
    }
    const ordered = [...middleware].sort((a, b) => (a.priority ?? 100) - (b.priority ?? 100));
    this.#requestSide = ordered.filter((m) => m.onRequest !== undefined);
    this.#sendSide = ordered.filter((m) => m.onSend !== undefined).reverse();
    this.#responseSide = ordered.filter((m) => m.onResponse !== undefined).reverse();
    this.empty = !this.#requestSide.length && !this.#sendSide.length && !this.#responseSide.length;
  }

  /** The exchange the request goes through: `ex` itself when there is nothing to run. */
  wrap(ex: Exchange, head: RequestHead): Exchange {
    return this.empty ? ex : new ChainedExchange(ex, head, this.#sendSide, this.#responseSide);
  }

  /** Request side; true when a middleware answered. */
  answeredEarly(ex: Exchange): boolean {
    const ctx = ex.context;
    if (!ctx) return false;
    for (const m of this.#requestSide) {
      const answer = m.onRequest!(ctx);
      if (!answer) continue;
      const body = answer.body ?? '';
      ex.send(answer.status, '', answer.headers ?? NO_HEADERS, typeof body === 'string' ? Buffer.from(body) : body);
      return true;
    }
    return false;
  }
}

/** zlib's streams can flush what they hold; other filters pass parts on as they come. */
function flushFilter(filter: Transform): void {
  (filter as Transform & { flush?: () => void }).flush?.();
}

function find(headers: readonly string[], name: string): number {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) if (headers[i].length === lower.length && headers[i].toLowerCase() === lower) return i;
  return -1;
}

/** One request through the chain: the context, the reply and the exchange in one object. */
class ChainedExchange implements Exchange, RequestContext, Reply {
  readonly startedAt = performance.now();
  clientAddr: string;
  upstream: Upstream = 'server';
  serverMade = false;
  worker = -1;
  requestId = '';
  traceId = '';
  queueMs = 0;
  execMs = 0;
  onAbort?: () => void;
  status = 0;
  reason = '';
  headers: readonly string[] = NO_HEADERS;
  streamed = false;
  length = -1;
  bodyless = false;
  #ownHeaders = false;
  #extraHeaders: string[] | undefined;
  #bytes = 0;
  #finished = false;
  #filter: Transform | undefined; // the body filters' output (the last of them)
  #filterIn: Transform | undefined; // where the body goes in (the first)
  #blocked = false; // the filter's output met a full socket
  #drainWaiter: (() => void) | undefined;

  constructor(readonly inner: Exchange, readonly head: RequestHead,
    readonly sendSide: readonly Middleware[], readonly responseSide: readonly Middleware[]) {
    this.clientAddr = head.remoteAddr;
    inner.onAbort = () => {
      this.#filterIn?.destroy();
      this.#filter?.destroy();
      this.onAbort?.();
      this.#finish();
    };
  }

  get context(): RequestContext { return this; }
  get method(): string { return this.inner.method; }
  get aborted(): boolean { return this.inner.aborted; }
  get responded(): boolean { return this.inner.responded; }
  get closeAfter(): boolean { return this.inner.closeAfter; }
  set closeAfter(close: boolean) { this.inner.closeAfter = close; }

  header(name: string): string {
    return headerValue(this.head.headers, name);
  }

  addResponseHeader(name: string, value: string): void {
    (this.#extraHeaders ??= []).push(name, value);
  }

  // ---- Reply, for onSend ----
  getHeader(name: string): string {
    const i = find(this.headers, name);
    return i < 0 ? '' : this.headers[i + 1];
  }

  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.#own().push(name, value);
  }

  removeHeader(name: string): void {
    let i = find(this.headers, name);
    if (i < 0) return;
    const own = this.#own();
    for (; i >= 0; i = find(own, name)) own.splice(i, 2);
  }

  #own(): string[] {
    if (!this.#ownHeaders) {
      this.headers = [...this.headers];
      this.#ownHeaders = true;
    }
    return this.headers as string[];
  }

  /**
   * Runs onSend; the filters' output, if middleware gave filters. Several are piped in the order
   * they were given (the innermost middleware's first); #filterIn is where the body goes in.
   */
  #reply(status: number, reason: string, headers: readonly string[], length: number, streamed: boolean): Transform | undefined {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.length = length;
    this.streamed = streamed;
    this.bodyless = this.inner.method === 'HEAD' || status === 204 || status === 304;
    const extra = this.#extraHeaders;
    if (extra) for (let i = 0; i < extra.length; i += 2) this.setHeader(extra[i], extra[i + 1]);
    let first: Transform | undefined;
    let last: Transform | undefined;
    for (const m of this.sendSide) {
      const f = m.onSend!(this, this);
      if (!f || this.bodyless) continue;
      if (last) {
        const before = last;
        before.pipe(f);
        before.on('error', (err) => f.destroy(err));
        if (streamed) before.on('data', () => flushFilter(f)); // after pipe's own listener wrote the part on
      }
      first ??= f;
      last = f;
    }
    this.#filterIn = first;
    return last;
  }

  #finish(): void {
    if (this.#finished || !this.responseSide.length) return;
    this.#finished = true;
    const done: Finished = {
      status: this.inner.aborted && !this.status ? 499 : this.status, // nginx's 499: the client left first
      bytes: this.#bytes,
      durationMs: performance.now() - this.startedAt,
      aborted: this.inner.aborted,
    };
    for (const m of this.responseSide) m.onResponse!(this, done);
  }

  // ---- Exchange ----
  send(status: number, reason: string, headers: readonly string[], body: Uint8Array, close?: boolean): boolean {
    if (this.inner.aborted) return true;
    const filter = this.#reply(status, reason, headers, body.length, false);
    if (!filter) {
      const taken = this.inner.send(this.status, this.reason, this.headers, body, close);
      if (!this.bodyless) this.#bytes = body.length;
      this.#finish();
      return taken;
    }
    this.removeHeader('content-length');
    const parts: Buffer[] = [];
    filter.on('data', (part: Buffer) => parts.push(part));
    filter.on('end', () => {
      const whole = Buffer.concat(parts);
      this.inner.send(this.status, this.reason, this.headers, whole, close);
      this.#bytes = whole.length;
      this.#finish();
    });
    filter.on('error', () => this.#failed());
    this.#filterIn!.end(body);
    return false; // the filter reads it later
  }

  sendHead(status: number, reason: string, headers: readonly string[], contentLength?: number): void {
    if (this.inner.aborted) return;
    this.#reply(status, reason, headers, contentLength ?? -1, false);
    this.inner.sendHead(this.status, this.reason, this.headers, contentLength);
    this.#finish();
  }

  stream(status: number, headers: readonly string[], total: number, source: Readable): void {
    const filter = this.#reply(status, '', headers, total, false);
    source.once('close', () => this.#finish());
    if (!filter) {
      source.on('data', (chunk: Buffer) => { this.#bytes += chunk.length; });
      return this.inner.stream(this.status, this.headers, total, source);
    }
    this.removeHeader('content-length');
    this.#startFiltered(filter);
    source.on('error', () => filter.destroy());
    source.pipe(this.#filterIn!);
  }

  // a hint is not the response: no middleware sees it
  sendInformational(status: number, headers: readonly string[]): void {
    this.inner.sendInformational(status, headers);
  }

  startStream(status: number, reason: string, headers: readonly string[]): void {
    if (this.inner.aborted) return;
    const filter = this.#reply(status, reason, headers, -1, true);
    if (filter) this.#startFiltered(filter);
    else this.inner.startStream(this.status, this.reason, this.headers);
  }

  #startFiltered(filter: Transform): void {
    this.#filter = filter;
    this.inner.startStream(this.status, this.reason, this.headers);
    filter.on('data', (part: Buffer) => this.#forward(part));
    filter.on('end', () => {
      this.inner.endStream();
      this.#finish();
    });
    filter.on('error', () => this.#failed());
  }

  #forward(part: Uint8Array): void {
    this.#bytes += part.length;
    if (this.inner.write(part) || this.#blocked) return;
    this.#blocked = true;
    this.#filter?.pause();
    this.inner.onDrain(() => {
      this.#blocked = false;
      this.#filter?.resume();
      const waiter = this.#drainWaiter;
      this.#drainWaiter = undefined;
      waiter?.();
    });
  }

  /** A filter that fails cannot send what is left: a 500 if nothing went out, else the stream is cut short. */
  #failed(): void {
    if (this.inner.responded) this.inner.endStream();
    else this.inner.send(500, '', NO_HEADERS, new Uint8Array(0), true);
    this.#finish();
  }

  write(chunk: Uint8Array): boolean {
    const filter = this.#filter;
    if (!filter) {
      this.#bytes += chunk.length;
      return this.inner.write(chunk);
    }
    if (this.inner.aborted) return true;
    const input = this.#filterIn!;
    input.write(chunk);
    flushFilter(input); // a PHP flush() reaches the client now
    return !this.#blocked;
  }

  onDrain(callback: () => void): void {
    if (!this.#filter) return this.inner.onDrain(callback);
    if (this.#blocked) this.#drainWaiter = callback;
    else queueMicrotask(callback);
  }

  endStream(): void {
    if (this.#filterIn) {
      if (!this.#filterIn.writableEnded) this.#filterIn.end();
      return;
    }
    this.inner.endStream();
    this.#finish();
  }

  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void, idleMs: number): void {
    this.inner.readBody(onChunk, idleMs);
  }

  // onSend hooks, and headers middleware adds, change the response: JS writes it then
  lend(): Loan | undefined {
    return this.sendSide.length || this.#extraHeaders ? undefined : this.inner.lend?.();
  }

  answeredDirectly(status: number, bytes: number): void {
    this.status = status;
    this.#bytes = bytes;
    this.inner.answeredDirectly!(status, bytes);
    this.#finish();
  }
}
