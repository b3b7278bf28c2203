// COMPRESSION=br,gzip: responses of compressible types compressed with Node's native zlib —
// brotli and gzip run on libuv's thread pool, never on the event loop (the `brotli` npm package
// the project's card named is a JavaScript port, far slower and synchronous). The coding is
// negotiated from Accept-Encoding with q-values; a streamed body (PHP's flush()) is flushed after
// each part, so nothing is held back. Never on 206/304, HEAD, event streams, bodies already
// encoded or requests with Range. Static files with a precompressed sibling (file.br, file.gz) are served
// from it by the static stage (src/static/precompressed.ts).
import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Middleware } from './chain.js';

export type Coding = 'br' | 'gzip';

// smaller bodies gain less than the framing costs (Caddy: 512, nginx's common setting: 1000)
const MIN_LENGTH = 1024;
const COMPRESSIBLE = /^(text\/|application\/(javascript|json|xml|wasm|manifest\+json|rss\+xml|atom\+xml|ld\+json|x-javascript|vnd\.ms-fontobject)|[^;]*\+(json|xml)\b|image\/(svg\+xml|x-icon|bmp)|font\/(ttf|otf))/i;

export function compressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}

/**
 * The coding to use among `offered` (in the server's order of preference) for an
 * Accept-Encoding header; null for none. q=0 refuses a coding; `*` stands for unnamed ones.
 */
export function negotiate(acceptEncoding: string, offered: readonly Coding[]): Coding | null {
  if (!acceptEncoding) return null;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, Number.isNaN(weight) ? 0 : weight);
  }
  let best: Coding | null = null;
  let bestQ = 0;
  for (const coding of offered) {
    const weight = q.get(coding) ?? q.get('*') ?? 0;
    if (weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return best;
}

function compressor(coding: Coding, length: number): Transform {
  if (coding === 'gzip') return createGzip({ level: 5 });
  const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: 4 }; // 11, the default, is for files built once
  if (length > 0) params[constants.BROTLI_PARAM_SIZE_HINT] = length;
  return createBrotliCompress({ params });
}

export function compression(offered: readonly Coding[]): Middleware {
  return {
    name: 'compression',
    priority: 50, // inside the access log and the metrics: they count the bytes sent
    onSend(ctx, reply) {
      if (reply.bodyless || reply.status === 206 || reply.status < 200) return undefined;
      const type = reply.getHeader('content-type');
      // an event stream stays as it is: proxies and EventSource clients expect it plain
      if (!compressible(type) || type.startsWith('text/event-stream')) return undefined;
      if (reply.length >= 0 && reply.length < MIN_LENGTH) return undefined;
      if (reply.getHeader('content-encoding')) return undefined;
      const vary = reply.getHeader('vary');
      if (!/accept-encoding|\*/i.test(vary)) reply.setHeader('Vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
      if (ctx.header('range')) return undefined;
      const coding = negotiate(ctx.header('accept-encoding'), offered);
      if (!coding) return undefined;
      reply.setHeader('Content-Encoding', coding);
      reply.removeHeader('accept-ranges');
      const etag = reply.getHeader('etag');
      if (etag && !etag.startsWith('W/')) reply.setHeader('ETag', `W/${etag}`); // as nginx: not the same bytes
      return compressor(coding, reply.length);
    },
  };
}
