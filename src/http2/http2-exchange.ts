// Exchange over an HTTP/2 stream (Node's http2 core API): a response is a HEADERS frame then
// DATA frames, paced by the stream's flow control; a reset stream is a disconnect.
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Exchange } from '../http/exchange.js';

const { NGHTTP2_NO_ERROR } = constants;

// Connection-specific headers have no place in HTTP/2 (RFC 9113 8.2.2): Node refuses a response
// that carries one, and framing is the stream's.
const NOT_IN_HTTP2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length', 'http2-settings']);

/** A name/value list as one HEADERS block: names lower-cased, repeated ones as lists. */
function headerBlock(status: number, headers: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i].toLowerCase();
    if (NOT_IN_HTTP2.has(name)) continue;
    const had = out[name];
    out[name] = had === undefined ? headers[i + 1] : [...(Array.isArray(had) ? had : [String(had)]), headers[i + 1]];
  }
  return out;
}

export class Http2Exchange implements Exchange {
  aborted = false;
  responded = false;
  /** the server drains: the session is closed gracefully (GOAWAY) after this response */
  closeAfter = false;
  onAbort?: () => void;

  /** `server`: the Server header to send when a response's headers name none ('' for none) */
  constructor(readonly h2: ServerHttp2Stream, readonly method: string, readonly server: string) {
    h2.on('close', () => {
      if (h2.writableFinished && !h2.rstCode) return;
      this.aborted = true;
      this.onAbort?.();
    });
    h2.on('error', () => {}); // a reset stream: 'close' follows
  }

  #respond(status: number, headers: readonly string[], contentLength: number | undefined, endStream: boolean): void {
    const out = headerBlock(status, headers);
    if (this.server && out.server === undefined) out.server = this.server;
    if (contentLength !== undefined) out['content-length'] = contentLength;
    this.h2.respond(out, { endStream });
    if (this.closeAfter) this.h2.once('finish', () => this.h2.session?.close());
  }

  #open(): boolean {
    return !this.aborted && !this.h2.destroyed && !this.h2.headersSent;
  }

  /**
   * `close`: the request's body is not wanted (an error answered before it was read): once the
   * answer is sent the stream is reset with NO_ERROR, which tells the client to stop sending
   * (RFC 9113 8.1), where HTTP/1 has to close the connection.
   */
  send(status: number, _reason: string, headers: readonly string[], body: Uint8Array, close = false): boolean {
    if (!this.#open()) return true;
    this.responded = true;
    const bodiless = this.method === 'HEAD' || status === 204 || status === 304;
    this.#respond(status, headers, bodiless ? undefined : body.length, bodiless);
    if (!bodiless) this.h2.end(body);
    if (close && !this.h2.readableEnded) this.h2.once('finish', () => this.h2.close(NGHTTP2_NO_ERROR));
    return bodiless; // the stream holds the body until the peer's window takes it
  }

  sendHead(status: number, _reason: string, headers: readonly string[], contentLength?: number): void {
    if (!this.#open()) return;
    this.responded = true;
    this.#respond(status, headers, contentLength, true);
  }

  stream(status: number, headers: readonly string[], total: number, source: Readable): void {
    this.responded = true;
    this.onAbort = () => source.destroy();
    if (!this.#open()) return void source.destroy();
    this.#respond(status, headers, total, false);
    source.pipe(this.h2);
  }

  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void, _idleMs: number): void {
    this.h2.on('data', (chunk: Buffer) => onChunk(chunk, false));
    this.h2.on('end', () => onChunk(new Uint8Array(0), true));
  }

  sendInformational(status: number, headers: readonly string[]): void {
    if (this.#open()) this.h2.additionalHeaders(headerBlock(status, headers));
  }

  startStream(status: number, _reason: string, headers: readonly string[]): void {
    if (!this.#open()) return;
    this.responded = true;
    this.#respond(status, headers, undefined, false);
  }

  write(chunk: Uint8Array): boolean {
    if (this.aborted || this.h2.destroyed || this.h2.writableEnded) return true;
    return this.h2.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.h2.once('drain', callback);
  }

  endStream(): void {
    if (!this.aborted && !this.h2.destroyed && !this.h2.writableEnded) this.h2.end();
  }
}
