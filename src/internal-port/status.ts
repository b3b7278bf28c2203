// /status: php-fpm's status page (pm.status_path) with the same field names, as text or, with
// ?json or ?html, as JSON or HTML, and with ?full a block per PHP thread, so that tools written for php-fpm's page
// read ours. A "process" there is a PHP worker thread here; the listen queue is the admission queue.
import type { PoolManager, WorkerStats } from '../engine/engine.js';

/** One server process's figures for the page (TokioServer.status()). */
export interface ProcessStatus {
  /** PM: how its classic threads come and go */
  pm: PoolManager['mode'];
  /** PHP requests admitted since the start (php-fpm's "accepted conn") */
  accepted: number;
  /** PHP requests waiting for a worker */
  waiting: number;
  /** how many may wait */
  capacity: number;
  /** the most requests running at once, and waiting at once, in this process */
  maxActive: number;
  maxWaiting: number;
  /** requests that arrived with every worker busy, the pool at its maximum */
  saturated: number;
  /** PHP requests logged for running past SLOWLOG_TIMEOUT */
  slow: number;
  /** PHP threads running now (every one, worker scripts' too), and of those the idle ones */
  live: number;
  idle: number;
  /** ?full: each PHP thread, with its current or last request (engine.stats(true)) */
  threads?: WorkerStats[];
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
  const idle = sum((s) => s.idle);
  return {
    pool: 'tokio-php',
    'process manager': statuses[0]?.pm ?? 'static',
    'start time': Math.floor(startedAt.getTime() / 1000),
    'start since': Math.floor((Date.now() - startedAt.getTime()) / 1000),
    'accepted conn': sum((s) => s.accepted),
    'listen queue': sum((s) => s.waiting),
    'max listen queue': maxima?.maxWaiting ?? most((s) => s.maxWaiting),
    'listen queue len': sum((s) => s.capacity),
    'idle processes': idle,
    'active processes': sum((s) => s.live) - idle,
    'total processes': sum((s) => s.live),
    'max active processes': maxima?.maxActive ?? most((s) => s.maxActive),
    'max children reached': sum((s) => s.saturated),
    'slow requests': sum((s) => s.slow),
  };
}

// what php-fpm's states are called for a PHP thread's
const STATES: Record<WorkerStats['state'], string> = {
  starting: 'Starting', booting: 'Booting', idle: 'Idle', busy: 'Running', exiting: 'Ending', stopped: 'Ending', broken: 'Broken',
};

/**
 * php-fpm's per-process blocks (?full), one per PHP thread of every process: if it runs a request,
 * that one's method, URI, ... so far; else its last one's, with the CPU and memory it took.
 */
export function fpmProcesses(statuses: readonly ProcessStatus[], json: boolean): Record<string, string | number>[] {
  const now = Date.now();
  return statuses.flatMap((s) => s.threads ?? []).filter((t) => t.state !== 'stopped').map((t) => {
    const r = t.request;
    const running = Boolean(r?.running);
    return {
      // the thread's Linux thread id (ps -L shows it as LWP): unique, and not a process to signal
      pid: t.tid ?? 0,
      state: running ? 'Running' : STATES[t.state] ?? t.state,
      'start time': Math.floor((t.startedAt ?? now) / 1000),
      'start since': Math.floor((now - (t.startedAt ?? now)) / 1000),
      requests: t.threadRequests ?? t.requests,
      'request duration': Math.round(r?.durationUs ?? 0),
      'request method': r?.method || '-',
      [json ? 'request uri' : 'request URI']: r?.uri || '-',
      'content length': r?.contentLength ?? 0,
      user: r?.user || '-',
      script: r?.script || '-',
      // as php-fpm: known once a request has ended, 0 while one runs
      'last request cpu': running ? 0 : Number((r?.cpuPercent ?? 0).toFixed(2)),
      'last request memory': running ? 0 : r?.memory ?? 0,
    };
  });
}

// php-fpm's text page: names padded to one column, the start time as in its access log
export function fpmStatusText(status: Record<string, string | number>, processes: Record<string, string | number>[] = []): string {
  return [status, ...processes].map((fields, i) => (i ? '\n************************\n' : '') + Object.entries(fields).map(([name, value]) => {
    const shown = name === 'start time' ? fpmDate(new Date(Number(value) * 1000))
      : name === 'last request cpu' ? Number(value).toFixed(2) : value;
    return `${`${name}:`.padEnd(21)} ${shown}\n`;
  }).join('')).join('');
}

const escape = (v: string | number) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// php-fpm's ?html page: the figures in a table, and with ?full a table with a row per process
export function fpmStatusHtml(status: Record<string, string | number>, processes: Record<string, string | number>[] | null): string {
  const shown = (name: string, value: string | number) => escape(name === 'start time' ? fpmDate(new Date(Number(value) * 1000))
    : name === 'last request cpu' ? Number(value).toFixed(2) : value);
  const rows = Object.entries(status).map(([name, value]) => `<tr><th>${escape(name)}</th><td>${shown(name, value)}</td></tr>\n`).join('');
  let out = '<!DOCTYPE html>\n<html lang="en">\n<head><title>tokio-php status</title></head>\n<body>\n<table>\n' + rows + '</table>\n';
  if (processes) {
    const names = processes.length ? Object.keys(processes[0]) : [];
    out += '<table border="1">\n<tr>' + names.map((n) => `<th>${escape(n)}</th>`).join('') + '</tr>\n'
      + processes.map((p) => '<tr>' + Object.entries(p).map(([n, v]) => `<td>${shown(n, v)}</td>`).join('') + '</tr>\n').join('')
      + '</table>\n';
  }
  return out + '</body></html>\n';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function fpmDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
