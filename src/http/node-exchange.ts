// Exchange over Node's http module: the path for requests uWS refuses (HTTP/1.0, malformed
// or pipelined ones). Node frames HTTP/1.0 responses without chunked encoding by itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { isHopByHop, isServerHeader, reasonPhrase, type Exchange } from './exchange.js';

export class NodeExchange implements Exchange {
  aborted = false;
  responded = false;
  closeAfter = false;
  onAbort?: () => void;
  readonly method: string;

  /** `server`: the Server header to send when a response's headers name none ('' for none) */
  constructor(readonly req: IncomingMessage, readonly res: ServerResponse, readonly server: string) {
    this.method = req.method ?? 'GET';
    res.on('close', () => {
      if (res.writableFinished) return;
      this.aborted = true;
      this.onAbort?.();
    });
  }

  #head(status: number, reason: string, headers: readonly string[], contentLength?: number, close = false): void {
    const raw: string[] = [];
    let server = this.server;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i];
      if (isHopByHop(name)) continue;
      if (isServerHeader(name)) server = '';
      raw.push(name, headers[i + 1]);
    }
    if (server) raw.push('Server', server);
    if (contentLength !== undefined) raw.push('Content-Length', String(contentLength));
    if (close || this.closeAfter) raw.push('Connection', 'close');
    this.res.writeHead(status, reasonPhrase(status, reason), raw);
  }

  send(status: number, reason: string, headers: readonly string[], body: Uint8Array, close = false): boolean {
    if (this.aborted) return true;
    this.responded = true;
    const bodiless = this.method === 'HEAD' || status === 204 || status === 304;
    this.#head(status, reason, headers, bodiless ? undefined : body.length, close);
    this.res.end(bodiless ? undefined : body);
    return bodiless; // Node's stream may hold the body until the socket drains
  }

  sendHead(status: number, reason: string, headers: readonly string[], contentLength?: number): void {
    if (this.aborted) return;
    this.responded = true;
    this.#head(status, reason, headers, contentLength);
    this.res.end();
  }

  stream(status: number, headers: readonly string[], total: number, source: Readable): void {
    this.responded = true;
    this.onAbort = () => source.destroy();
    this.#head(status, '', headers, total);
    source.pipe(this.res);
  }

  sendInformational(status: number, headers: readonly string[]): void {
    // Node sends 103 with a Link header only, and not to HTTP/1.0 clients, which have no 1xx
    if (status !== 103 || this.aborted || this.req.httpVersion === '1.0') return;
    const hints: Record<string, string | string[]> = {};
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i].toLowerCase();
      const had = hints[name];
      hints[name] = had === undefined ? headers[i + 1] : [...(Array.isArray(had) ? had : [had]), headers[i + 1]];
    }
    if (hints.link !== undefined) this.res.writeEarlyHints(hints);
  }

  startStream(status: number, reason: string, headers: readonly string[]): void {
    if (this.aborted) return;
    this.responded = true;
    this.#head(status, reason, headers);
    this.res.flushHeaders();
  }

  write(chunk: Uint8Array): boolean {
    return this.aborted || this.res.writableEnded || this.res.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.res.once('drain', callback);
  }

  endStream(): void {
    if (!this.aborted && !this.res.writableEnded) this.res.end();
  }

  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void, _idleMs: number): void {
    this.req.on('data', (chunk: Buffer) => onChunk(chunk, false));
    this.req.on('end', () => onChunk(new Uint8Array(0), true));
  }
}
