// The router's view of the document root, as nginx's open_file_cache keeps it, but revalidated
// by inotify instead of a timer: a path's stat (or its absence) is kept until a change in one of
// the directories on its way from / says otherwise. A steady site costs no stat per request, and
// an edit, a new file, a delete, a chmod, a renamed directory or a flipped `current` symlink is
// seen by the next request (the kernel queues the event before the writer's call returns, and
// the event loop reads it before a request sent after it).
import { realpathSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';

export interface FileCacheOptions {
  /** the document root as configured, and its real path */
  root: string;
  realRoot: string;
  /** SYMLINKS_OUTSIDE_ROOT=allow */
  symlinksOutsideRoot: boolean;
  maxEntries?: number;
  maxDirectories?: number;
}

/** A watched directory: which cached paths go through each of its entries. */
interface Directory {
  watcher: FSWatcher;
  byChild: Map<string, Set<string>>;
}

export class FileCache {
  readonly #options: Required<FileCacheOptions>;
  /** null: known to be absent (or not servable) */
  readonly #entries = new Map<string, Stats | null>();
  readonly #directories = new Map<string, Directory>();
  #inserts = 0;

  constructor(options: FileCacheOptions) {
    this.#options = { maxEntries: 20_000, maxDirectories: 2_000, ...options };
  }

  /** The file or directory at `full` (an absolute path under the root), undefined when absent or not servable. */
  stat(full: string): Stats | undefined {
    const hit = this.#entries.get(full);
    if (hit !== undefined) return hit ?? undefined;
    // '/dir/' is looked up as given (a file with a slash is ENOTDIR), and watched as '/dir'
    const bare = full.length > 1 && full.endsWith('/') ? full.slice(0, -1) : full;
    // watched before the stat: a change made in between is an event, never a stale entry
    const watched = this.#watchAncestors(bare);
    const { stat, direct } = this.#look(full, bare);
    if (watched && direct) this.#insert(full, bare, stat);
    return stat;
  }

  /** Stops watching; the cache is empty and stays usable. */
  close(): void {
    for (const dir of this.#directories.values()) dir.watcher.close();
    this.#directories.clear();
    this.#entries.clear();
  }

  /** `direct`: no symlink below the root on the way, so the ancestors' events cover every change */
  #look(full: string, bare: string): { stat: Stats | undefined; direct: boolean } {
    const { root, realRoot, symlinksOutsideRoot } = this.#options;
    try {
      const stat = statSync(full, { throwIfNoEntry: false }); // still throws ENOTDIR, EACCES
      if (!stat) return { stat, direct: this.#realOfExisting(path.dirname(bare)) === realRoot + path.dirname(bare).slice(root.length) };
      const real = realpathSync.native(full);
      const direct = real === realRoot + bare.slice(root.length);
      // a symlink may lead anywhere: only what stays under the root is served
      if (!symlinksOutsideRoot && !direct && real !== realRoot && !real.startsWith(realRoot + '/')) return { stat: undefined, direct };
      return { stat, direct };
    } catch {
      return { stat: undefined, direct: false };
    }
  }

  /** The real path of `dir`'s nearest existing ancestor, joined with the rest of `dir`. */
  #realOfExisting(dir: string): string {
    for (let d = dir, rest = ''; ; rest = '/' + path.basename(d) + rest, d = path.dirname(d)) {
      try {
        return realpathSync.native(d) + rest;
      } catch {
        if (d === '/' || d.length <= this.#options.root.length) return '';
      }
    }
  }

  #insert(full: string, bare: string, stat: Stats | undefined): void {
    if (this.#entries.size >= this.#options.maxEntries || ++this.#inserts > 4 * this.#options.maxEntries) this.#clear();
    this.#entries.set(full, stat ?? null);
    for (let dir = path.dirname(bare), child = bare; child !== dir; child = dir, dir = path.dirname(dir)) {
      const d = this.#directories.get(dir);
      if (!d) continue; // absent: the nearest ancestor that exists sees it appear
      const name = child.slice(dir.length + (dir === '/' ? 0 : 1));
      let keys = d.byChild.get(name);
      if (!keys) d.byChild.set(name, keys = new Set());
      keys.add(full);
    }
  }

  /** false when a directory on the way cannot be watched (inotify's limit, permissions): then nothing is cached */
  #watchAncestors(bare: string): boolean {
    for (let dir = path.dirname(bare); ; dir = path.dirname(dir)) {
      if (!this.#directories.has(dir)) {
        if (this.#directories.size >= this.#options.maxDirectories) return false;
        let watcher: FSWatcher;
        try {
          watcher = watch(dir, { persistent: false }, (_event, name) => this.#changed(dir, name));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') return false;
          if (dir === '/') return false;
          continue;
        }
        watcher.on('error', () => this.#forget(dir));
        this.#directories.set(dir, { watcher, byChild: new Map() });
      }
      if (dir === '/') return true;
    }
  }

  #changed(dir: string, name: string | Buffer | null): void {
    const d = this.#directories.get(dir);
    if (!d) return;
    if (name === null) return this.#forget(dir); // the kernel's queue overflowed: anything may have changed
    const entry = String(name);
    const child = dir === '/' ? '/' + entry : `${dir}/${entry}`;
    // a watched directory that was removed, moved or replaced: its watch no longer follows the path
    if (this.#directories.has(child)) this.#forget(child);
    const keys = d.byChild.get(entry);
    if (!keys) return;
    d.byChild.delete(entry);
    for (const key of keys) this.#entries.delete(key);
  }

  /** The directory (and those under it) went away or can no longer be watched: whatever went through them is looked up again. */
  #forget(dir: string): void {
    for (const [watched, d] of this.#directories) {
      if (watched !== dir && !watched.startsWith(dir === '/' ? '/' : dir + '/')) continue;
      d.watcher.close();
      this.#directories.delete(watched);
      for (const keys of d.byChild.values()) for (const key of keys) this.#entries.delete(key);
    }
  }

  #clear(): void {
    this.#entries.clear();
    for (const d of this.#directories.values()) d.byChild.clear();
    this.#inserts = 0;
  }
}
