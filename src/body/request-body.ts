// The request body, read whole before the request asks for a place in the queue, as nginx reads
// bodies before a PHP worker is involved: a held or slow body costs a connection and a buffer,
// never a PHP thread or a queue slot. Up to BODY_BUFFER_SIZE it stays in memory; a larger one is
// spooled to a temporary file (nginx's client_body_buffer_size and client_body_temp_path) that is
// unlinked as soon as it is open, so nothing is left on disk whatever happens; PHP reads it from
// the descriptor.
import { randomBytes } from 'node:crypto';
import { close, open, unlink, writev } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SpooledBody } from '../engine/engine.js';
import { lingeringRefusal, sendError, type Exchange } from '../http/exchange.js';

export interface BodyFraming {
  contentLength: number;
  chunked: boolean;
  /** several Content-Length values that disagree, or one that is not a number */
  conflicting: boolean;
}

/** How a request head frames its body (lower-case name/value list). */
export function framing(headers: readonly string[]): BodyFraming {
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

export type RequestBody = Buffer | SpooledBody;

export interface BodyLimits {
  /** over it: 413 */
  maxBodySize: number;
  /** larger bodies go to a file */
  bodyBufferSize: number;
  /** ms of silence between two reads before 408 */
  bodyTimeout: number;
}

/** Closes a spooled body nobody will run. */
export function discardBody(body: RequestBody | undefined): void {
  if (body && !Buffer.isBuffer(body)) close(body.fd, () => {});
}

/**
 * Reads a body to its end and hands it to `then`. Answers by itself 408 after BODY_TIMEOUT of
 * silence, 413 past MAX_BODY_SIZE (after nginx's lingering read), 500 when the spool cannot be
 * written; a client that leaves drops it all.
 */
export function readBody(ex: Exchange, framing: BodyFraming, limits: BodyLimits, then: (body: RequestBody) => void): void {
  const known = framing.chunked ? -1 : framing.contentLength;
  const whole = known >= 0 && known <= limits.bodyBufferSize ? Buffer.allocUnsafe(known) : undefined;
  const parts: Buffer[] = []; // a chunked body still small enough for memory
  let spool = known > limits.bodyBufferSize ? new Spool() : undefined;
  let received = 0;
  let drop: ((length: number, last: boolean) => void) | undefined; // over MAX_BODY_SIZE: 413 once it is read
  const stop = () => {
    clearTimeout(timer);
    ex.onAbort = undefined;
    spool?.discard();
  };
  const timer = setTimeout(() => {
    stop();
    sendError(ex, 408, [], true);
  }, limits.bodyTimeout);
  ex.onAbort = stop;
  ex.readBody((chunk, isLast) => {
    if (drop) return drop(chunk.length, isLast);
    if (ex.responded) return;
    if (received + chunk.length > limits.maxBodySize) {
      stop();
      drop = lingeringRefusal(ex, 413);
      return drop(chunk.length, isLast);
    }
    timer.refresh();
    if (whole) {
      whole.set(chunk, received);
    } else if (chunk.length) {
      if (spool) {
        spool.write(chunk);
      } else {
        parts.push(Buffer.from(chunk)); // copied: the transport reuses the memory
        if (received + chunk.length > limits.bodyBufferSize) {
          spool = new Spool();
          for (const part of parts.splice(0)) spool.write(part);
        }
      }
    }
    received += chunk.length;
    if (!isLast) return;
    clearTimeout(timer);
    if (!spool) {
      ex.onAbort = undefined;
      return then(whole ? whole.subarray(0, received) : Buffer.concat(parts, received));
    }
    const written = spool;
    ex.onAbort = () => written.discard();
    written.finish((err, fd) => {
      ex.onAbort = undefined;
      if (err) {
        sendError(ex, 500, [], true);
      } else if (ex.aborted) {
        close(fd, () => {});
      } else {
        then({ fd, length: received });
      }
    });
  }, limits.bodyTimeout);
}

/**
 * Chunks appended to an unlinked temporary file, in order, off the event loop. Two buffers take
 * turns (one fills while the other is written), so a long upload allocates nothing per chunk;
 * what comes while both are taken (the disk is behind) is copied aside. The socket is not paused:
 * this uWS build's pause() holds once per connection and its resume() arms a 10 s timeout that
 * would cut a request still waiting for PHP.
 */
class Spool {
  static readonly BUFFER_SIZE = 1024 * 1024;
  #fd = -1;
  #opening = true;
  #writing = false;
  #fill: Buffer = Buffer.allocUnsafeSlow(Spool.BUFFER_SIZE);
  #filled = 0;
  #spare: Buffer | null = Buffer.allocUnsafeSlow(Spool.BUFFER_SIZE); // null while written
  #aside: Buffer[] = []; // what came while both buffers were taken
  #error: Error | null = null;
  #discarded = false;
  #then?: (err: Error | null, fd: number) => void;

  constructor() {
    const file = path.join(os.tmpdir(), `tokio-php-body-${randomBytes(8).toString('hex')}`);
    open(file, 'wx+', 0o600, (err, fd) => {
      this.#opening = false;
      if (err) {
        this.#error = err;
      } else {
        this.#fd = fd;
        unlink(file, () => {});
      }
      this.#next();
    });
  }

  /** `chunk` is copied before this returns. */
  write(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.#aside.length) {
      if (this.#filled === Spool.BUFFER_SIZE) {
        if (this.#opening || this.#writing) break;
        this.#writeFill();
      }
      const n = Math.min(Spool.BUFFER_SIZE - this.#filled, chunk.length - at);
      this.#fill.set(chunk.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
    }
    if (at < chunk.length) this.#aside.push(Buffer.from(chunk.subarray(at)));
  }

  /** `then` gets the descriptor, now the caller's, once every chunk is on disk. */
  finish(then: (err: Error | null, fd: number) => void): void {
    this.#then = then;
    this.#next();
  }

  discard(): void {
    this.#discarded = true;
    this.#next();
  }

  #writeFill(): void {
    const full = this.#fill;
    this.#fill = this.#spare!;
    this.#spare = null;
    this.#write([full.subarray(0, this.#filled)], () => (this.#spare = full));
    this.#filled = 0;
  }

  #write(chunks: Buffer[], written: () => void): void {
    const size = chunks.reduce((n, c) => n + c.length, 0);
    this.#writing = true;
    writev(this.#fd, chunks, (err, n) => {
      this.#writing = false;
      written();
      if (err || n !== size) this.#error ??= err ?? new Error(`short write to a body spool: ${n} of ${size} bytes`);
      this.#next();
    });
  }

  // After each open or write: the next write, or the end.
  #next(): void {
    if (this.#opening || this.#writing) return;
    if (this.#discarded || this.#error) {
      if (this.#fd >= 0) close(this.#fd, () => {});
      this.#fd = -1;
      const then = this.#then;
      this.#then = undefined;
      if (this.#error && !this.#discarded) then?.(this.#error, -1);
      return;
    }
    if (this.#filled === Spool.BUFFER_SIZE || (this.#then && this.#filled > 0)) return this.#writeFill();
    if (this.#aside.length) {
      const aside = this.#aside;
      this.#aside = [];
      return this.#write(aside, () => {});
    }
    if (this.#then) {
      const then = this.#then;
      const fd = this.#fd;
      this.#then = undefined;
      this.#fd = -1;
      then(null, fd);
    }
  }
}
