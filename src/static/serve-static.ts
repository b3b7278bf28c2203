// Static files as nginx serves them: Content-Type, ETag and Last-Modified with 304, HEAD,
// single byte ranges (206/416), files served from memory, and large ones streamed as the socket drains.
import { createReadStream, readFile, readFileSync, type Stats } from 'node:fs';
import type { Exchange } from '../http/exchange.js';
import type { Coding } from '../middleware/compression.js';
import { contentType } from './mime.js';
import { precompressedSibling } from './precompressed.js';

// Files are served from memory up to CACHED_FILE (a large JS bundle, an image): one copy into
// the socket, where a stream would read and copy each part. Up to READ_AT_ONCE a miss is read
// in place; a larger one is streamed while it is read for the next requests in the background,
// so no big read ever blocks the event loop. The oldest entries make room past CACHE_BYTES.
const READ_AT_ONCE = 64 * 1024;
const CACHED_FILE = 4 * 1024 * 1024;
const CACHE_BYTES = 64 * 1024 * 1024;

/** A file's bytes and validators, valid while its inode, size and mtime stay the same. */
interface Cached {
  ino: number;
  mtimeMs: number;
  size: number;
  body: Buffer;
  headers: string[];
}
const cache = new Map<string, Cached>();
const reading = new Set<string>();
let cachedBytes = 0;

/** `typeOf`: the name whose extension gives the type (a precompressed app.css.br is text/css) */
function describe(typeOf: string, stat: Stats): string[] {
  const lastModified = new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString();
  return ['Content-Type', contentType(typeOf), 'Last-Modified', lastModified, 'ETag', etagOf(stat), 'Accept-Ranges', 'bytes'];
}

function keep(file: string, stat: Stats, typeOf: string, body: Buffer): Cached {
  const entry = { ino: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size, body, headers: describe(typeOf, stat) };
  if (body.length !== stat.size) return { ...entry, size: -1 }; // changed while read: do not keep it
  const old = cache.get(file);
  if (old) {
    cache.delete(file);
    cachedBytes -= old.body.length;
  }
  for (const [name, e] of cache) {
    if (cachedBytes + body.length <= CACHE_BYTES) break;
    cache.delete(name);
    cachedBytes -= e.body.length;
  }
  cache.set(file, entry);
  cachedBytes += body.length;
  return entry;
}

// The router's stat of this request revalidates the entry: no open/read for a cached file again.
function cachedFile(file: string, stat: Stats, typeOf: string): Cached | undefined {
  const hit = cache.get(file);
  if (hit && hit.ino === stat.ino && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit;
  if (stat.size <= READ_AT_ONCE) return keep(file, stat, typeOf, readFileSync(file));
  if (!reading.has(file)) {
    reading.add(file);
    readFile(file, (err, body) => {
      reading.delete(file);
      if (!err) keep(file, stat, typeOf, body);
    });
  }
  return undefined;
}

export interface StaticRequest {
  ifNoneMatch: string;
  ifModifiedSince: string;
  range: string;
  ifRange: string;
  acceptEncoding: string;
  /** COMPRESSION's codings: precompressed siblings of these are looked for */
  precompressed: readonly Coding[];
}

/** nginx's ETag: hex mtime and size */
export function etagOf(stat: Stats): string {
  return `"${Math.floor(stat.mtimeMs / 1000).toString(16)}-${stat.size.toString(16)}"`;
}

function notModified(req: StaticRequest, etag: string, mtime: number): boolean {
  if (req.ifNoneMatch) {
    return req.ifNoneMatch.split(',').some((t) => {
      const tag = t.trim();
      return tag === '*' || tag === etag || tag === `W/${etag}`;
    });
  }
  if (req.ifModifiedSince) {
    const since = Date.parse(req.ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(mtime / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

/** [start, end] inclusive, 'unsatisfiable', or null for "send the whole file" */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or garbage: whole file, as allowed
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

export function serveStatic(ex: Exchange, file: string, stat: Stats, req: StaticRequest): void {
  const sibling = req.precompressed.length && !req.range ? precompressedSibling(file, req.acceptEncoding, req.precompressed) : null;
  if (sibling) return serveFile(ex, sibling.file, sibling.stat, req, file, ['Content-Encoding', sibling.coding, 'Vary', 'Accept-Encoding']);
  serveFile(ex, file, stat, req, file, []);
}

function serveFile(ex: Exchange, file: string, stat: Stats, req: StaticRequest, typeOf: string, encoding: string[]): void {
  const cached = stat.size <= CACHED_FILE ? cachedFile(file, stat, typeOf) : undefined;
  let base = cached?.headers ?? describe(typeOf, stat);
  if (encoding.length) base = [...base.slice(0, 6), ...encoding]; // a sibling is sent whole: no ranges
  const etag = base[5];
  if (notModified(req, etag, stat.mtimeMs)) {
    ex.sendHead(304, '', base.slice(2, 6));
    return;
  }
  let headers = base;
  let start = 0;
  let end = stat.size - 1;
  let status = 200;
  if (req.range && (!req.ifRange || req.ifRange === etag || req.ifRange === base[3])) {
    const range = parseRange(req.range, stat.size);
    if (range === 'unsatisfiable') {
      ex.send(416, '', ['Content-Range', `bytes */${stat.size}`], Buffer.alloc(0));
      return;
    }
    if (range) {
      [start, end] = range;
      status = 206;
      headers = [...base, 'Content-Range', `bytes ${start}-${end}/${stat.size}`];
    }
  }
  const length = end - start + 1;
  if (ex.method === 'HEAD') {
    ex.sendHead(status, '', headers, length);
    return;
  }
  if (cached) {
    ex.send(status, '', headers, status === 206 ? cached.body.subarray(start, end + 1) : cached.body);
    return;
  }
  const source = createReadStream(file, { start, end, highWaterMark: 256 * 1024 });
  ex.stream(status, headers, length, source);
}
