// Worker mode's routing: which requests a worker script's loop serves. Static files are always
// served directly; a script with a match pattern takes every other request under it; one without
// takes the requests the router sends to its file (or, for a script outside the document root,
// to the front controller it stands for). Everything else runs as a classic script.
import path from 'node:path';
import type { WorkerScriptConfig } from '../config/config.js';
import { decodePath, normalizePath, type PhpRoute, type Route } from '../router/router.js';

export class WorkerRoutes {
  readonly #byFile = new Map<string, number>();
  readonly #matches: { script: number; prefix: string; exact: boolean; route: PhpRoute }[] = [];

  constructor(scripts: readonly WorkerScriptConfig[], documentRoot: string, indexFile: string) {
    scripts.forEach((w, i) => {
      if (w.match) {
        const exact = !w.match.endsWith('*');
        this.#matches.push({ script: i, prefix: exact ? w.match : w.match.slice(0, -1), exact,
          route: { kind: 'php', scriptFilename: w.filename, scriptName: w.name, pathInfo: '' } });
        return;
      }
      this.#byFile.set(w.filename, i);
      const outside = !w.filename.startsWith(documentRoot + path.sep);
      if (outside && indexFile.endsWith('.php')) this.#byFile.set(path.join(documentRoot, indexFile), i);
    });
  }

  /** The worker script serving a request the router resolved to `route`, or null: a classic one. */
  target(rawPath: string, route: Route): { script: number; route: PhpRoute } | null {
    if (route.kind === 'static') return null;
    if (this.#matches.length) {
      const decoded = decodePath(rawPath);
      const p = decoded === null ? null : normalizePath(decoded);
      if (p !== null) {
        for (const m of this.#matches) {
          if (m.exact ? p === m.prefix : p.startsWith(m.prefix)) return { script: m.script, route: m.route };
        }
      }
    }
    if (route.kind !== 'php') return null;
    const script = this.#byFile.get(route.scriptFilename);
    return script === undefined ? null : { script, route };
  }
}
