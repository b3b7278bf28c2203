// Writing responses through uWS: corked, with backpressure for large bodies.
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './uws.js';

/** Per-request state the writers share with the handler. */
export interface Exchange {
  res: HttpResponse;
  method: string;
  /** the client went away: res must not be touched */
  aborted: boolean;
  /** a response has been (or is being) written */
  responded: boolean;
  /** called once if the client goes away */
  onAbort?: () => void;
}

export function statusLine(status: number, reason = ''): string {
  return `${status} ${reason || STATUS_CODES[status] || ''}`;
}

// Framing is ours to write: the script's own length/encoding/connection headers would conflict.
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** Writes status and headers (name, value, ...) — call inside res.cork(). */
export function writeHead(res: HttpResponse, status: number, reason: string, headers: readonly string[]): void {
  res.writeStatus(statusLine(status, reason));
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (!HOP_BY_HOP.has(headers[i].toLowerCase())) res.writeHeader(headers[i], headers[i + 1]);
  }
}

/**
 * Ends with no body. (This uWS build mishandles endWithoutBody(length): it sends nothing on a
 * pipelined connection, so a known length is written as a plain header.)
 */
export function endWithoutBody(res: HttpResponse, contentLength: number | undefined, close = false): void {
  if (contentLength !== undefined) res.writeHeader('Content-Length', String(contentLength));
  res.endWithoutBody();
  if (close) res.close();
}

/** Sends a whole response; a large body goes out as the socket drains. */
export function send(ex: Exchange, status: number, reason: string, headers: readonly string[], body: Uint8Array, close = false): void {
  if (ex.aborted) return;
  ex.responded = true;
  const res = ex.res;
  res.cork(() => {
    writeHead(res, status, reason, headers);
    if (ex.method === 'HEAD' || status === 204 || status === 304) {
      endWithoutBody(res, undefined, close);
      return;
    }
    if (close || body.length < 64 * 1024) {
      res.end(body, close);
      return;
    }
    const base = res.getWriteOffset();
    const [ok, done] = res.tryEnd(body, body.length);
    if (ok || done) return;
    res.onWritable((offset) => {
      const [ok2] = res.tryEnd(body.subarray(offset - base), body.length);
      return ok2;
    });
  });
}

/** A short plain-text error response, as nginx's own pages are short. */
export function sendError(ex: Exchange, status: number, extraHeaders: readonly string[] = [], close = false): void {
  const text = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  send(ex, status, '', ['Content-Type', 'text/plain; charset=utf-8', ...extraHeaders], Buffer.from(text), close);
}
