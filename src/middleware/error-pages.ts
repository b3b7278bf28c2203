// ERROR_PAGES_DIR: the site's own pages for errors — 404.html, 503.html, or 4xx.html/5xx.html for
// a whole class — in place of the server's short answers (404, 413, 429, 503, 504, ...) and of
// PHP error responses with an empty body, for clients that accept HTML. Read once at start (a
// reload, SIGHUP, reads them again).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Middleware } from './chain.js';

const PAGE = /^([45](?:\d\d|xx))\.html$/;

export function loadErrorPages(dir: string): Map<string, Buffer> {
  const pages = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const m = PAGE.exec(name);
    if (m) pages.set(m[1], readFileSync(path.join(dir, name)));
  }
  return pages;
}

/** A body filter that drops the body it is given and sends `page` instead. */
function replaceWith(page: Buffer): Transform {
  return new Transform({
    transform(_chunk, _encoding, done) { done(); },
    flush(done) { done(null, page); },
  });
}

export function errorPages(pages: Map<string, Buffer>): Middleware {
  return {
    name: 'error-pages',
    priority: 70,
    onSend(ctx, reply) {
      const { status } = reply;
      if (status < 400 || reply.bodyless || reply.streamed) return undefined;
      // PHP's own error pages stay; an empty body gets the site's page
      if (!ctx.serverMade && reply.length !== 0) return undefined;
      if (!ctx.header('accept').includes('text/html')) return undefined;
      const page = pages.get(String(status)) ?? pages.get(`${Math.floor(status / 100)}xx`);
      if (!page) return undefined;
      reply.setHeader('Content-Type', 'text/html; charset=utf-8');
      return replaceWith(page);
    },
  };
}
