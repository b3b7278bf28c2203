// WORKER_WATCH: in development, a change to a file matching one of the globs restarts the worker
// scripts (which then include the new code). One inotify watch per directory under each glob's
// fixed prefix, new directories included; dot-directories (.git) are skipped.
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface Watcher {
  close(): void;
}

// changes closer together than this are one change (an editor's save, a git checkout)
const SETTLE_MS = 150;

/** "src/**\/*.php" as a RegExp over absolute paths; relative globs start at `root`. */
export function globRegExp(glob: string, root: string): RegExp {
  const absolute = path.resolve(root, glob);
  let re = '';
  for (let i = 0; i < absolute.length; i++) {
    const c = absolute[i];
    if (c === '*' && absolute[i + 1] === '*') {
      const slash = absolute[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = absolute.indexOf('}', i);
      if (end < 0) { re += '\\{'; continue; }
      re += `(?:${absolute.slice(i + 1, end).split(',').map((p) => p.replace(/[.+^$()|[\]\\*?]/g, '\\$&')).join('|')})`;
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The directory a glob's matches are all under: its path up to the first wildcard. */
export function globBase(glob: string, root: string): string {
  const absolute = path.resolve(root, glob);
  const wild = absolute.search(/[*?{]/);
  return wild < 0 ? path.dirname(absolute) : absolute.slice(0, absolute.lastIndexOf('/', wild)) || '/';
}

export function watchFiles(globs: readonly string[], root: string, onChange: (file: string) => void): Watcher {
  const patterns = globs.map((g) => globRegExp(g, root));
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let changed = '';
  const add = (dir: string) => {
    if (watchers.has(dir)) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
      const w = watch(dir, (_event, name) => {
        if (!name) return;
        const file = path.join(dir, name.toString());
        try {
          if (statSync(file).isDirectory() && !name.toString().startsWith('.')) add(file);
        } catch { /* removed */ }
        if (!patterns.some((p) => p.test(file))) return;
        changed = file;
        clearTimeout(timer);
        timer = setTimeout(() => onChange(changed), SETTLE_MS);
      });
      w.on('error', () => { w.close(); watchers.delete(dir); });
      watchers.set(dir, w);
    } catch {
      return; // gone, or not readable
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) add(path.join(dir, e.name));
  };
  for (const g of globs) add(globBase(g, root));
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
