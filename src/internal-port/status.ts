// /status: php-fpm's status page (pm.status_path) with the same field names, as text or, with
// ?json, as JSON, so that tools written for php-fpm's page read ours. A "process" there is a PHP
// worker thread here; the listen queue is the admission queue.

/** One server process's figures for the page (TokioServer.status()). */
export interface ProcessStatus {
  /** PHP requests admitted since the start (php-fpm's "accepted conn") */
  accepted: number;
  /** PHP requests running, and waiting for a worker */
  active: number;
  waiting: number;
  /** how many may wait */
  capacity: number;
  /** the most requests running at once, and waiting at once, in this process */
  maxActive: number;
  maxWaiting: number;
  /** requests that arrived with every worker busy */
  saturated: number;
  workers: number;
}

/** The most PHP requests running at once and waiting at once in every process together. */
export interface PoolMaxima {
  maxActive: number;
  maxWaiting: number;
}

/**
 * The page's figures, php-fpm's fields. `maxima`: the pool's, from the supervisor's board; without
 * it, the largest process's (a process's own maximum is a floor of the pool's, and their sum no
 * figure at all: two processes that each ran one request, one after the other, are not two).
 */
export function fpmStatus(statuses: readonly ProcessStatus[], startedAt: Date, maxima: PoolMaxima | null): Record<string, string | number> {
  const sum = (f: (s: ProcessStatus) => number) => statuses.reduce((n, s) => n + f(s), 0);
  const most = (f: (s: ProcessStatus) => number) => statuses.reduce((n, s) => Math.max(n, f(s)), 0);
  const active = sum((s) => s.active);
  return {
    'pool': 'tokio-php',
    'process manager': 'static',
    'start time': Math.floor(startedAt.getTime() / 1000),
    'start since': Math.floor((Date.now() - startedAt.getTime()) / 1000),
    'accepted conn': sum((s) => s.accepted),
    'listen queue': sum((s) => s.waiting),
    'max listen queue': maxima?.maxWaiting ?? most((s) => s.maxWaiting),
    'listen queue len': sum((s) => s.capacity),
    'idle processes': sum((s) => s.workers) - active,
    'active processes': active,
    'total processes': sum((s) => s.workers),
    'max active processes': maxima?.maxActive ?? most((s) => s.maxActive),
    'max children reached': sum((s) => s.saturated),
    // php-fpm counts requests past request_slowlog_timeout; there is no slow log here, and php-fpm
    // without one says 0 too
    'slow requests': 0,
  };
}

// php-fpm's text page: names padded to one column, the start time as in its access log
export function fpmStatusText(status: Record<string, string | number>): string {
  return Object.entries(status).map(([name, value]) => {
    const shown = name === 'start time' ? fpmDate(new Date(Number(value) * 1000)) : value;
    return `${`${name}:`.padEnd(21)} ${shown}\n`;
  }).join('');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function fpmDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
