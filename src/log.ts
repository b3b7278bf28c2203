// One pino logger for the process; PHP's error log goes through it with the request id. Lines
// are written off the event loop, to stdout or to LOG_FILE (appended to by every process).
import { destination as pinoDestination, pino, type Logger } from 'pino';

export type { Logger };

let destination: ReturnType<typeof pinoDestination> | undefined;

export function createLogger(level: string, file?: string, bindings: Record<string, unknown> = {}): Logger {
  destination = pinoDestination({ dest: file ?? 1, append: true, sync: false });
  return pino({ level, base: { service: 'tokio-php', ...bindings } }, destination);
}

/** SIGUSR1: the log file was moved away (logrotate); write to a new one at its path. */
export function reopenLog(): void {
  destination?.reopen();
}

/** What is still buffered goes out before the process exits. */
export function flushLog(): void {
  destination?.flushSync();
}
