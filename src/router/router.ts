// Maps a request path to what serves it, in nginx's order: static file | PHP script |
// index-file fallback | 404. No path ever leaves the document root.
import { realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { FileCache } from './file-cache.js';

export type Route =
  | { kind: 'php'; scriptFilename: string; scriptName: string; pathInfo: string }
  | { kind: 'static'; file: string; stat: Stats }
  | { kind: 'redirect'; location: string }
  | { kind: 'error'; status: 400 | 403 | 404 };

export type PhpRoute = Extract<Route, { kind: 'php' }>;

export interface RouterOptions {
  documentRoot: string;
  /** '' = traditional; 'index.php' = front controller; 'index.html' = single-page app */
  indexFile: string;
  symlinksOutsideRoot: boolean;
}

// Scripts are run or refused, never shown as source.
const PHP_SOURCE = /\.(php\d?|phtml|phar|phps)$/i;
const DIRECTORY_INDEXES = ['index.php', 'index.html'];

/** Percent-decodes a path into UTF-8; null when it holds a NUL byte or a bad escape. */
export function decodePath(raw: string): string | null {
  if (!raw.includes('%')) return raw.includes('\0') ? null : raw;
  const bytes = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      bytes[n++] = parseInt(hex, 16);
      i += 2;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      n += bytes.write(raw[i], n, 'utf8');
    }
  }
  const out = bytes.toString('utf8', 0, n);
  return out.includes('\0') ? null : out;
}

/**
 * nginx's normalisation: merges slashes, resolves "." and "..", keeps a trailing slash.
 * null when ".." climbs above the root (nginx answers 400).
 */
export function normalizePath(decoded: string): string | null {
  // most paths are already normal: no empty, "." or ".." segment to resolve
  if (decoded.charCodeAt(0) === 0x2f && !decoded.includes('//') && !decoded.includes('/.')) return decoded;
  const out: string[] = [];
  const parts = decoded.split('/');
  for (const seg of parts) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  const last = parts[parts.length - 1];
  const trailing = out.length > 0 && (last === '' || last === '.' || last === '..');
  return '/' + out.join('/') + (trailing ? '/' : '');
}

function isHidden(p: string): boolean {
  // /.env, /.git/config; /.well-known/ stays reachable (ACME, security.txt)
  return /\/\.(?!well-known(\/|$))/.test(p);
}

export class Router {
  readonly #root: string;
  readonly #indexFile: string;
  readonly #files: FileCache;

  constructor(options: RouterOptions) {
    this.#root = path.resolve(options.documentRoot);
    this.#indexFile = options.indexFile;
    this.#files = new FileCache({ root: this.#root, realRoot: realpathSync.native(this.#root), symlinksOutsideRoot: options.symlinksOutsideRoot });
  }

  close(): void {
    this.#files.close();
  }

  get documentRoot(): string {
    return this.#root;
  }

  /** `rawPath` is the URL path as received (no query). */
  resolve(rawPath: string, query: string): Route {
    const decoded = decodePath(rawPath);
    const p = decoded === null ? null : normalizePath(decoded);
    if (p === null) return { kind: 'error', status: 400 };
    if (isHidden(p)) return { kind: 'error', status: 403 };

    const stat = this.#stat(p);
    if (stat?.isFile()) return this.#file(p, stat);
    if (stat?.isDirectory()) {
      if (!p.endsWith('/')) {
        return { kind: 'redirect', location: encodeURI(p) + '/' + (query ? `?${query}` : '') };
      }
      for (const index of DIRECTORY_INDEXES) {
        const s = this.#stat(p + index);
        if (s?.isFile()) return this.#file(p + index, s);
      }
      return this.#fallback(p) ?? { kind: 'error', status: 403 };
    }

    // /script.php/extra/path: the script is the shortest prefix ending in .php
    const split = /^(.+?\.php)(\/.*)$/.exec(p);
    if (split) {
      const s = this.#stat(split[1]);
      if (s?.isFile()) return { kind: 'php', scriptFilename: this.#full(split[1]), scriptName: split[1], pathInfo: split[2] };
      return { kind: 'error', status: 404 }; // try_files $fastcgi_script_name =404, front controller or not
    }
    if (PHP_SOURCE.test(p)) return { kind: 'error', status: 404 }; // try_files $uri =404
    return this.#fallback(p) ?? { kind: 'error', status: 404 };
  }

  #fallback(p: string): Route | null {
    if (!this.#indexFile) return null;
    const index = '/' + this.#indexFile;
    if (index === p) return null;
    const s = this.#stat(index);
    return s?.isFile() ? this.#file(index, s) : null;
  }

  #file(p: string, stat: Stats): Route {
    if (p.endsWith('.php')) return { kind: 'php', scriptFilename: this.#full(p), scriptName: p, pathInfo: '' };
    if (PHP_SOURCE.test(p)) return { kind: 'error', status: 403 };
    return { kind: 'static', file: this.#full(p), stat };
  }

  #full(p: string): string {
    return this.#root + p;
  }

  #stat(p: string): Stats | undefined {
    return this.#files.stat(this.#full(p));
  }
}
