// One pino logger for the process; PHP's error log goes through it with the request id. Lines
// are written off the event loop, to stdout or to LOG_FILE (appended to by every process), as
// JSON or, with LOG_FORMAT=pretty, as pino-pretty's readable lines.
import { destination as pinoDestination, pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { PhpLogEntry, SlowRequest } from './engine/engine.js';

export type { Logger };

let destination: ReturnType<typeof pinoDestination> | undefined;
let opened = false; // a LOG_FILE opens off the event loop

/** `format`: JSON lines, or pino-pretty's readable lines (for a terminal; LOG_FORMAT=pretty). */
export function createLogger(level: string, file?: string, bindings: Record<string, unknown> = {}, format: 'json' | 'pretty' = 'json'): Logger {
  destination = pinoDestination({ dest: file ?? 1, append: true, sync: false });
  opened = false;
  destination.once('ready', () => { opened = true; });
  const stream = format === 'json' ? destination : pretty({
    destination, colorize: !file && process.stdout.isTTY, translateTime: 'SYS:standard', ignore: 'pid,hostname,service',
  });
  return pino({ level, base: { service: 'tokio-php', ...bindings } }, stream);
}

/** PHP's log lines on `log` at their level (syslog's numbers), with the request's ids. */
export function phpLogger(log: Logger, traceOf: (requestId: string) => string): (entry: PhpLogEntry) => void {
  const php = log.child({ source: 'php' });
  return ({ level, message, requestId }) => {
    const fn = level <= 3 ? php.error : level === 4 ? php.warn : php.info;
    fn.call(php, requestId ? { requestId, traceId: traceOf(requestId) } : {}, message);
  };
}

/**
 * A request past SLOWLOG_TIMEOUT as one warning: php-fpm's words for it, and its slow log's lines
 * (the backtrace) in `trace`.
 */
export function logSlowRequest(log: Logger, slow: SlowRequest, traceId: string): void {
  const { requestId, worker, tid, method, uri, script, elapsedMs, trace } = slow;
  log.warn({ requestId, traceId, worker, tid, method, uri, script, elapsedMs: Math.round(elapsedMs), trace },
    `script '${script}' (request: "${method} ${uri}") executing too slow (${(elapsedMs / 1000).toFixed(6)} sec)`);
}

/** SIGUSR1: the log file was moved away (logrotate); write to a new one at its path. */
export function reopenLog(): void {
  destination?.reopen();
}

/** Resolves once the log file is open (at once when the log is stdout), or could not be opened. */
export function logOpened(): Promise<void> {
  const d = destination;
  if (!d || opened) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      d.off('ready', done);
      d.off('error', done);
      resolve();
    };
    d.once('ready', done);
    d.once('error', done);
  });
}

const buffered: (() => void)[] = [];

/** `flush` hands lines held elsewhere (the access log's batch) to the stream when the log is flushed. */
export function holdsLogLines(flush: () => void): void {
  buffered.push(flush);
}

/** What is still buffered goes out before the process exits. */
export function flushLog(): void {
  for (const flush of buffered) flush();
  if (opened) destination?.flushSync();
}

/** Exits once the log file is open: nothing logged before is lost (and pino's own flush at exit would throw). */
export function exitAfterLog(code: number): void {
  if (destination && !opened) {
    destination.once('ready', () => exitAfterLog(code));
    return;
  }
  flushLog();
  process.exit(code);
}
