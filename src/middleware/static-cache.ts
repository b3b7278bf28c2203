// STATIC_CACHE_TTL=1h: Cache-Control and Expires on static files (200, 206 and 304), with
// per-extension overrides (STATIC_CACHE_TTL_EXT=css=7d,html=off); STATIC_CACHE_IMMUTABLE=on
// marks names that carry a content hash (app.3f9a2c1b.js, index-BQk3f9a2.css) immutable for a year.
import path from 'node:path';
import type { Middleware } from './chain.js';

export interface StaticCache {
  /** seconds; 0 = no caching headers */
  ttl: number;
  /** extension (lower case, no dot) -> seconds */
  byExtension: Map<string, number>;
  immutableHashed: boolean;
}

const YEAR = 31_536_000;
// a separator, 8 to 32 letters and digits with at least one of each, then the extension
const HASHED = /[.-](?=[A-Za-z0-9_]*\d)(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{8,32}\.[A-Za-z0-9]+$/;

export function isHashedName(file: string): boolean {
  return HASHED.test(file);
}

export function staticCache(rules: StaticCache): Middleware {
  // Expires changes once a second: made then, not per response
  let second = 0;
  const expires = new Map<number, string>();
  const expiresIn = (ttl: number) => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      expires.clear();
    }
    let value = expires.get(ttl);
    if (!value) expires.set(ttl, value = new Date((now + ttl) * 1000).toUTCString());
    return value;
  };
  return {
    name: 'static-cache',
    priority: 60,
    onSend(ctx, reply) {
      if (ctx.upstream !== 'static' || (reply.status !== 200 && reply.status !== 206 && reply.status !== 304)) return undefined;
      const url = ctx.head.url;
      if (rules.immutableHashed && isHashedName(url)) {
        reply.setHeader('Cache-Control', `public, max-age=${YEAR}, immutable`);
        reply.setHeader('Expires', expiresIn(YEAR));
        return undefined;
      }
      const ttl = rules.byExtension.get(path.extname(url).slice(1).toLowerCase()) ?? rules.ttl;
      if (ttl > 0) {
        reply.setHeader('Cache-Control', `public, max-age=${ttl}`);
        reply.setHeader('Expires', expiresIn(ttl));
      }
      return undefined;
    },
  };
}
