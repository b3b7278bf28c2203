// One request/response as the pipeline sees it, whatever carries it: uWebSockets.js for
// HTTP/1.1, Node's http for what uWS refuses (HTTP/1.0, malformed or pipelined requests).
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../transport/request-context.js';

export interface Exchange {
  readonly method: string;
  /** what the middleware chain knows of the request; absent when no middleware runs */
  readonly context?: RequestContext;
  /** the client went away: nothing more can be sent */
  aborted: boolean;
  /** a response has been (or is being) sent */
  responded: boolean;
  /** the connection closes after this response (the server is draining) */
  closeAfter: boolean;
  /** called once if the client goes away */
  onAbort?: () => void;
  /**
   * A whole response; a large body drains with backpressure. `close` ends the connection after it.
   * true: the body's bytes are taken (copied or written), so its memory may be freed at once.
   */
  send(status: number, reason: string, headers: readonly string[], body: Uint8Array, close?: boolean): boolean;
  /** Status and headers only (HEAD, 304); `contentLength` is announced when given. */
  sendHead(status: number, reason: string, headers: readonly string[], contentLength?: number): void;
  /** A body of `total` bytes read from `source`, paced by the socket. */
  stream(status: number, headers: readonly string[], total: number, source: Readable): void;
  /**
   * The request body, chunk by chunk; `chunk` must be copied if kept past the call. The transport
   * keeps the connection at least `idleMs` between two reads, however slowly they come (the
   * caller answers 408 itself after that long).
   */
  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void, idleMs: number): void;
  /**
   * An informational response (103 Early Hints) before the final one; dropped where the
   * protocol has none (HTTP/1.0) or the transport cannot send it now.
   */
  sendInformational(status: number, headers: readonly string[]): void;
  /** Starts a body of unknown length: chunked for HTTP/1.1, up to the close for HTTP/1.0. */
  startStream(status: number, reason: string, headers: readonly string[]): void;
  /** One part of a started stream; false when the socket is full (see onDrain). */
  write(chunk: Uint8Array): boolean;
  /** Called once when the socket can take more after write() returned false. */
  onDrain(callback: () => void): void;
  endStream(): void;
  /**
   * FastCGI: lends the connection, for the PHP thread to write a whole response on itself
   * (native/engine/fcgi_answer.h), when nothing here would change that response; else undefined.
   */
  lend?(): Loan | undefined;
  /** The PHP thread wrote the response on the lent connection: `status`, and a body of `bytes` bytes. */
  answeredDirectly?(status: number, bytes: number): void;
}

/** A connection lent to a PHP thread (Exchange.lend). */
export interface Loan {
  readonly fd: number;
  /** the request's id on the connection */
  readonly requestId: number;
  /** set by the borrower: true when JS may still answer (then the PHP thread will not) */
  claim?: () => boolean;
}

export function reasonPhrase(status: number, reason = ''): string {
  return reason || STATUS_CODES[status] || '';
}

// "200 OK" and the like, made once
const STATUS_LINES = Array.from({ length: 600 }, (_, status) => `${status} ${reasonPhrase(status)}`);

/** The status line after "HTTP/1.1 ": the code and its reason phrase. */
export function statusLine(status: number, reason = ''): string {
  return !reason && status >= 0 && status < 600 ? STATUS_LINES[status] : `${status} ${reasonPhrase(status, reason)}`;
}

// Framing is the transport's to write: the script's own length/encoding/connection headers would conflict.
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);
// by length first: most names are none of these, and need no lower-cased copy
export const isHopByHop = (name: string): boolean =>
  (name.length === 10 || name.length === 14 || name.length === 17) && HOP_BY_HOP.has(name.toLowerCase());

/** A script's own Server header replaces SERVER_HEADER's, as behind nginx. */
export const isServerHeader = (name: string): boolean => name.length === 6 && name.toLowerCase() === 'server';

/** Two header names alike but for ASCII case (field names are ASCII tokens), without toLowerCase()'s copies. */
export function sameHeaderName(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    if (x === b.charCodeAt(i)) continue;
    const lower = x | 32;
    if (lower !== (b.charCodeAt(i) | 32) || lower < 97 || lower > 122) return false;
  }
  return true;
}

/** The value of a header in a lower-case name/value list, '' when absent. */
export function headerValue(headers: readonly string[], name: string): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return '';
}

/** A short plain-text error response, as nginx's own pages are short. */
export function sendError(ex: Exchange, status: number, extraHeaders: readonly string[] = [], close = false): void {
  if (ex.aborted || ex.responded) return;
  if (ex.context) ex.context.serverMade = true;
  const text = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  ex.send(status, '', ['Content-Type', 'text/plain; charset=utf-8', ...extraHeaders], Buffer.from(text), close);
}

// nginx's lingering close: lingering_timeout 5s between reads, lingering_time 30s in all
const LINGER_IDLE_MS = 5_000;
const LINGER_MAX_MS = 30_000;
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Refuses a request body (413) the way nginx does: the rest of the body is read and dropped, within
 * bounds, before the answer and the close, so the client sees the status instead of a reset
 * mid-upload. Feed it each chunk's length. (Both transports answer `Expect: 100-continue` by
 * themselves before any handler runs, so such a client is uploading too.)
 */
export function lingeringRefusal(ex: Exchange, status: number): (length: number, last: boolean) => void {
  let dropped = 0;
  const answer = () => {
    clearTimeout(idle);
    clearTimeout(cap);
    sendError(ex, status, [], true);
  };
  const idle = setTimeout(answer, LINGER_IDLE_MS).unref();
  const cap = setTimeout(answer, LINGER_MAX_MS).unref();
  return (length, last) => {
    if (ex.responded) return;
    dropped += length;
    if (last || dropped > LINGER_MAX_BYTES) answer();
    else idle.refresh();
  };
}
