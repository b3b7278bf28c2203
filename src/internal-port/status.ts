// /status: php-fpm's status page (pm.status_path) with the same field names, as text or, with
// ?json, as JSON, so that tools written for php-fpm's page read ours. A "process" there is a
// PHP worker thread here; the listen queue is the admission queue.

/** One server process's figures for the page (TokioServer.status()). */
export interface ProcessStatus {
  /** requests received */
  accepted: number;
  /** PHP requests running, and waiting for a worker */
  active: number;
  waiting: number;
  /** how many may wait */
  capacity: number;
  maxActive: number;
  maxWaiting: number;
  /** requests that arrived with every worker busy */
  saturated: number;
  workers: number;
}

export function fpmStatus(statuses: readonly ProcessStatus[], startedAt: Date): Record<string, string | number> {
  const sum = (f: (s: ProcessStatus) => number) => statuses.reduce((n, s) => n + f(s), 0);
  const active = sum((s) => s.active);
  return {
    'pool': 'tokio-php',
    'process manager': 'static',
    'start time': Math.floor(startedAt.getTime() / 1000),
    'start since': Math.floor((Date.now() - startedAt.getTime()) / 1000),
    'accepted conn': sum((s) => s.accepted),
    'listen queue': sum((s) => s.waiting),
    'max listen queue': sum((s) => s.maxWaiting),
    'listen queue len': sum((s) => s.capacity),
    'idle processes': sum((s) => s.workers) - active,
    'active processes': active,
    'total processes': sum((s) => s.workers),
    'max active processes': sum((s) => s.maxActive),
    'max children reached': sum((s) => s.saturated),
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
