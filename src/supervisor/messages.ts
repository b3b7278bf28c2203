// What the supervisor and its server processes tell each other, over Node's cluster IPC channel.
import type { Worker } from 'node:cluster';
import type { ProcessReport } from '../metrics/process-metrics.js';

export type ProcessMessage =
  /** `workers`: the PHP threads of its pool, classic and worker scripts' */
  | { type: 'ready'; workers: number; php?: string; zts?: boolean; opcache?: boolean }
  | { type: 'replace-me'; reason: string }
  /** worker mode: a worker script of this process turned broken (false), or every one serves again */
  | { type: 'readiness'; ready: boolean }
  /** SIGTERM: it accepts no more connections, and drains */
  | { type: 'draining' }
  /** an answer to `collect`; id -1: the last one, as the process exits */
  | { type: 'report'; id: number; report: ProcessReport };

/** `metrics`: the metric families too, or only the status figures (/status); `full`: each PHP thread's too (/status?full) */
export type SupervisorMessage =
  | { type: 'collect'; id: number; metrics: boolean; full?: boolean }
  /** worker mode: restart the worker scripts, a thread at a time (SIGUSR2, POST /workers/restart, WORKER_WATCH) */
  | { type: 'restart-workers'; reason: 'reload' | 'watch' };

/**
 * To the supervisor, when there is one (a server run in-process has no channel, and a supervisor
 * that exited has closed it); resolves once sent or dropped.
 */
export function send(message: ProcessMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send({ tokio: message }, undefined, {}, () => resolve());
  });
}

export function tell(worker: Worker, message: SupervisorMessage): void {
  if (worker.isConnected()) worker.send({ tokio: message });
}

export function received<T extends ProcessMessage | SupervisorMessage>(raw: unknown): T | undefined {
  return typeof raw === 'object' && raw !== null && 'tokio' in raw ? (raw as { tokio: T }).tokio : undefined;
}
