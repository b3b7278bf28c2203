// Exchange over a FastCGI request: the response is a CGI head (a Status line, then the headers) and
// the body, as STDOUT records, then an empty STDOUT and END_REQUEST, as php-fpm sends them; the
// web server in front (nginx) turns that into HTTP. Framing is the front's, as with php-fpm: no
// Content-Length unless the script set one (nginx then chunks), and no Server header (nginx adds
// its own).
import type { Readable } from 'node:stream';
import { reasonPhrase, type Exchange, type Loan } from '../http/exchange.js';
import { END_RECORDS_LENGTH, MAX_CONTENT, RecordType, records, writeEnd, writeRecordHeader } from './records.js';

// The connection's own headers, nginx's to set: a script's would confuse the front (Transfer-Encoding
// would have it decode a body that is not chunked); php-fpm passes them on, and nginx drops them.
const CONNECTION_HEADERS = new Set(['transfer-encoding', 'connection', 'keep-alive']);
const isConnectionHeader = (name: string): boolean =>
  (name.length === 10 || name.length === 17) && CONNECTION_HEADERS.has(name.toLowerCase());

/** Where an exchange writes: its connection (see ./fastcgi-transport.ts). */
export interface FcgiOutput {
  /** false once the connection holds too much unwritten: onDrain's callback follows */
  write(parts: Uint8Array | Uint8Array[]): boolean;
  /** the request is answered: without `keepOpen` its connection closes once written */
  finish(requestId: number, keepOpen: boolean): void;
  onDrain(callback: () => void): void;
  /** the descriptor, for a PHP thread to write on until finish() or release(); -1 if it cannot be lent */
  lend(): number;
  release(): void;
}

export class FastCgiExchange implements Exchange {
  aborted = false;
  responded = false;
  /** the server drains: the connection closes after this request, whatever the front asked */
  closeAfter = false;
  onAbort?: () => void;
  #ended = false;
  #body?: (chunk: Uint8Array, last: boolean) => void;
  #stdin: Buffer[] = [];
  #stdinDone = false;
  #loan: Loan | undefined; // the connection is lent to a PHP thread

  /** `keepConn`: the front asked to keep the connection (FCGI_KEEP_CONN) */
  constructor(readonly output: FcgiOutput, readonly requestId: number, readonly method: string, readonly keepConn: boolean) {}

  /** STDIN from the front, as it comes; an empty record ends it. */
  stdin(content: Buffer): void {
    const last = content.length === 0;
    if (this.#body) this.#body(content, last);
    else if (!this.#stdinDone) this.#stdin.push(content); // kept until read
    if (last) this.#stdinDone = true;
  }

  /** ABORT_REQUEST, or the front's connection closed: as a client that went away. */
  abort(): void {
    if (this.aborted || this.#ended) return;
    this.aborted = true;
    this.onAbort?.();
    if (this.#mine()) this.#end(1); // else the PHP thread answers, and answeredDirectly() ends it
  }

  lend(): Loan | undefined {
    if (this.aborted || this.#ended || this.responded) return undefined;
    const fd = this.output.lend();
    if (fd >= 0) this.#loan = { fd, requestId: this.requestId };
    return this.#loan;
  }

  answeredDirectly(): void {
    this.#loan = undefined;
    this.responded = true;
    this.#end(0, true);
  }

  /** Whether this may write: the connection was never lent, or is claimed back from the PHP thread now. */
  #mine(): boolean {
    const loan = this.#loan;
    if (!loan) return true;
    if (loan.claim && !loan.claim()) return false;
    this.#loan = undefined;
    this.output.release();
    return true;
  }

  #head(status: number, reason: string, headers: readonly string[]): string {
    let head = `Status: ${status} ${reasonPhrase(status, reason)}\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (!isConnectionHeader(headers[i])) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    return `${head}\r\n`;
  }

  // the records of one call go out in one system call (writev), not one each
  #stdout(body: Uint8Array | string): boolean {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
    return bytes.length ? this.output.write(records(RecordType.Stdout, this.requestId, bytes)) : true;
  }

  #end(appStatus: number, written = false): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!written) this.output.write(writeEnd(Buffer.allocUnsafe(END_RECORDS_LENGTH), 0, this.requestId, appStatus));
    this.output.finish(this.requestId, this.keepConn && !this.closeAfter);
  }

  send(status: number, reason: string, headers: readonly string[], body: Uint8Array): boolean {
    if (this.aborted || this.#ended || !this.#mine()) return true;
    this.responded = true;
    const bodiless = this.method === 'HEAD' || status === 204 || status === 304;
    const head = this.#head(status, reason, headers);
    const content = head.length + (bodiless ? 0 : body.length);
    if (content > MAX_CONTENT) {
      // head, body and end as records, in one write
      const parts = records(RecordType.Stdout, this.requestId, Buffer.from(head, 'latin1'));
      if (!bodiless) parts.push(...records(RecordType.Stdout, this.requestId, body));
      parts.push(writeEnd(Buffer.allocUnsafe(END_RECORDS_LENGTH), 0, this.requestId, 0));
      this.output.write(parts);
      this.#end(0, true);
      return true; // written, or queued in the addon
    }
    // the usual answer: one STDOUT record, its end and END_REQUEST in one buffer, one write
    const out = Buffer.allocUnsafe(8 + content + END_RECORDS_LENGTH);
    writeRecordHeader(out, 0, RecordType.Stdout, this.requestId, content);
    out.write(head, 8, 'latin1');
    if (!bodiless) out.set(body, 8 + head.length);
    writeEnd(out, 8 + content, this.requestId, 0);
    this.output.write(out);
    this.#end(0, true);
    return true;
  }

  sendHead(status: number, reason: string, headers: readonly string[]): void {
    if (this.aborted || this.#ended || !this.#mine()) return;
    this.responded = true;
    this.#stdout(this.#head(status, reason, headers));
    this.#end(0);
  }

  stream(status: number, headers: readonly string[], _total: number, source: Readable): void {
    this.responded = true;
    this.onAbort = () => source.destroy();
    this.#stdout(this.#head(status, '', headers));
    source.on('data', (chunk: Buffer) => {
      if (!this.write(chunk)) {
        source.pause();
        this.onDrain(() => source.resume());
      }
    });
    source.on('end', () => this.endStream());
    source.on('error', () => this.abort());
  }

  readBody(onChunk: (chunk: Uint8Array, last: boolean) => void): void {
    this.#body = onChunk;
    const held = this.#stdin;
    this.#stdin = [];
    for (const chunk of held) onChunk(chunk, false);
    if (this.#stdinDone) onChunk(new Uint8Array(0), true);
  }

  // FastCGI has no informational responses: the hints go with the final response
  sendInformational(): void {}

  startStream(status: number, reason: string, headers: readonly string[]): void {
    if (this.aborted || this.#ended || !this.#mine()) return;
    this.responded = true;
    this.#stdout(this.#head(status, reason, headers));
  }

  write(chunk: Uint8Array): boolean {
    if (this.aborted || this.#ended || !this.#mine()) return true;
    return this.#stdout(chunk);
  }

  onDrain(callback: () => void): void {
    this.output.onDrain(callback);
  }

  endStream(): void {
    this.#end(0);
  }
}
