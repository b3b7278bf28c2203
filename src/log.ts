// One pino logger for the process; PHP's error log goes through it with the request id.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'tokio-php' } });
}
