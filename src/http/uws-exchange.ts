// Exchange over uWebSockets.js: corked writes, tryEnd/onWritable for backpressure.
import type { Readable } from 'node:stream';
import { netAddon } from '../native/addon.js';
import { isHopByHop, isServerHeader, statusLine, type Exchange } from './exchange.js';
import type { HttpResponse } from './uws.js';

export class UwsExchange implements Exchange {
  aborted = false;
  responded = false;
  closeAfter = false;
  onAbort?: () => void;
  #ended = false; // uWS must not be touched after the response ended

  /** `server`: the Server header to send when `headers` name none ('' for none); `tls`: res is on a TLS socket */
  constructor(readonly res: HttpResponse, readonly method: string, readonly server: string, readonly tls: boolean) {
    // attached at once: uWS requires it for any response not ended inside the handler
    res.onAborted(() => {
      this.aborted = true;
      this.onAbort?.();
    });
  }

  #head(status: number, reason: string, headers: readonly string[]): void {
    this.res.writeStatus(statusLine(status, reason));
    let server = this.server;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i];
      if (isHopByHop(name)) continue;
      if (isServerHeader(name)) server = '';
      this.res.writeHeader(name, headers[i + 1]);
    }
    if (server) this.res.writeHeader('Server', server);
  }

  // This uWS build mishandles endWithoutBody(length) (nothing is sent on a pipelined
  // connection), so a known length goes out as a plain header.
  #endWithoutBody(contentLength: number | undefined, close: boolean): void {
    if (contentLength !== undefined) this.res.writeHeader('Content-Length', String(contentLength));
    this.res.endWithoutBody();
    if (close || this.closeAfter) this.res.close();
  }

  send(status: number, reason: string, headers: readonly string[], body: Uint8Array, close = false): boolean {
    if (this.aborted) return true;
    this.responded = true;
    const res = this.res;
    let taken = true; // end() copies what the socket does not take at once
    res.cork(() => {
      this.#head(status, reason, headers);
      if (this.method === 'HEAD' || status === 204 || status === 304) return this.#endWithoutBody(undefined, close);
      if (close || this.closeAfter || body.length < 64 * 1024) {
        res.end(body, close || this.closeAfter);
        return;
      }
      const base = res.getWriteOffset();
      const [ok, done] = res.tryEnd(body, body.length);
      if (ok || done) return;
      taken = false; // the rest is sent from `body` as the socket drains
      res.onWritable((offset) => res.tryEnd(body.subarray(offset - base), body.length)[0]);
    });
    return taken;
  }

  sendHead(status: number, reason: string, headers: readonly string[], contentLength?: number): void {
    if (this.aborted) return;
    this.responded = true;
    this.res.cork(() => {
      this.#head(status, reason, headers);
      this.#endWithoutBody(contentLength, false);
    });
  }

  stream(status: number, headers: readonly string[], total: number, source: Readable): void {
    const res = this.res;
    this.responded = true;
    let headWritten = false;
    this.onAbort = () => source.destroy();
    source.on('error', () => {
      if (!this.aborted) res.close();
    });
    source.on('data', (chunk: Buffer) => {
      if (this.aborted) return source.destroy();
      res.cork(() => {
        if (!headWritten) {
          this.#head(status, '', headers);
          headWritten = true;
        }
        const base = res.getWriteOffset();
        const [ok, done] = res.tryEnd(chunk, total);
        if (done) return source.destroy();
        if (ok) return;
        // the socket is full: wait until it drains, then resend what it did not take
        source.pause();
        res.onWritable((offset) => {
          const [ok2, done2] = res.tryEnd(chunk.subarray(offset - base), total);
          if (done2) source.destroy();
          else if (ok2) source.resume();
          return ok2;
        });
      });
    });
  }

  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void, idleMs: number): void {
    // uWS closes a socket 10 s after the request head unless 160 KB came since (16 KB/s): its
    // timeout is set again after each read instead, past the caller's own 408 (uSockets' timer
    // ticks every 4 s). Once first after uWS arms its own, on return from the request handler.
    const seconds = Math.ceil(idleMs / 1000) + 8;
    const keep = () => {
      if (!this.#ended && !this.aborted) netAddon().uws.keepReading(this.res, this.tls, seconds);
    };
    setImmediate(keep);
    this.res.onData((chunk, last) => {
      onChunk(new Uint8Array(chunk), last);
      if (!last) keep();
    });
  }

  sendInformational(status: number, headers: readonly string[]): void {
    if (this.aborted || this.responded || this.#ended) return;
    let head = `HTTP/1.1 ${statusLine(status)}\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (!isHopByHop(headers[i])) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    netAddon().uws.writeInformational(this.res, this.tls, `${head}\r\n`);
  }

  startStream(status: number, reason: string, headers: readonly string[]): void {
    if (this.aborted) return;
    this.responded = true;
    this.res.cork(() => {
      this.#head(status, reason, headers);
      this.res.write(''); // commits status and headers now, in chunked mode
    });
  }

  write(chunk: Uint8Array): boolean {
    if (this.aborted || this.#ended) return true;
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  onDrain(callback: () => void): void {
    this.res.onWritable(() => {
      callback();
      return true;
    });
  }

  endStream(): void {
    if (this.aborted || this.#ended) return;
    this.#ended = true;
    this.res.cork(() => this.res.end(undefined, this.closeAfter));
  }
}
