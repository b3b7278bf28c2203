// What a server process's main thread and its HTTP threads tell each other.
import type { MetricFamily } from '../metrics/recorder.js';
import type { SharedSockets } from '../transport/sockets.js';

/** Given to each HTTP thread when it starts. */
export interface HttpThreadData {
  /** 1 .. HTTP_THREADS-1: the main thread is 0 */
  index: number;
  /** the server process's index */
  process: number;
  /** the command line, read again on the thread (the configuration holds values no message carries) */
  argv: string[];
  /** the process's PHP threads and queue capacity (its share, with PROCESSES > 1) */
  workers: number;
  queueCapacity: number;
  /** its own descriptors of the listening sockets, which its gate owns, and the sibling board */
  shared: SharedSockets;
  rateTableFd?: number;
  admissionCounts: SharedArrayBuffer;
  /** worker mode: 1 where a worker script is broken (see WorkerScripts.brokenFlags) */
  brokenScripts?: Int32Array;
}

/** A thread's figures: its metrics. */
export interface ThreadFigures {
  families: MetricFamily[];
}

export type ToThread =
  | { type: 'collect'; id: number }
  | { type: 'close'; drainTimeout: number }
  | { type: 'reopen-log' }
  | { type: 'refuse-while-stuck' };

export type FromThread =
  | { type: 'ready' }
  | { type: 'figures'; id: number; figures: ThreadFigures }
  | { type: 'closed'; drained: boolean; figures: ThreadFigures }
  | { type: 'stuck'; requestId: string; all: boolean };
