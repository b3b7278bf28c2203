// The PHP engine: N native worker threads, each running one PHP request at a time with the
// request semantics of php-fpm behind nginx. This is the only module that talks to the addon.
import { close } from 'node:fs';
import os from 'node:os';
import { VERSION } from '../package.js';
import { AbortReason, ExecuteFlag, nativeAddon, type NativeEngine, type NativeEngineOptions, type NativeStartInfo } from '../native/addon.js';
import { ENGINE_INI_DEFAULTS, iniLines, rawIniLines, type IniValue } from './ini.js';

export interface PhpLogEntry {
  /** syslog level as PHP gives it: 3 error, 4 warning, 5 notice, 6 info, 7 debug */
  level: number;
  message: string;
  requestId?: string;
}

/**
 * php-fpm's process manager (pm) for the classic threads; worker scripts keep their threads.
 * static: `workers` threads always; dynamic: `startWorkers` at first, then once a second one idle
 * thread retires while more than `maxSpare` are idle, and more start while fewer than `minSpare`
 * are; ondemand: none at first, one started for a request no thread is free to take, retired
 * after `idleTimeoutMs` idle. Never more than `workers`.
 */
export type PoolManager =
  | { mode: 'static' }
  | { mode: 'dynamic'; startWorkers: number; minSpare: number; maxSpare: number }
  | { mode: 'ondemand'; idleTimeoutMs: number };

export interface EngineOptions {
  /** Worker threads for classic scripts, each with its own PHP context (at most, unless `pm` is static). Default: CPU count, or 1 beside worker scripts. */
  workers?: number;
  /** how many of those run when (default static: all, always) */
  pm?: PoolManager;
  /** This server process's index (tokio_server_info()['process']); default 0. */
  process?: number;
  /** php.ini file or directory; default: $PHP_INI_PATH, else PHP's usual search (PHPRC, then
   * the build's lib/). PHP_INI_SCAN_DIR in the environment adds a conf.d as with php-fpm. */
  iniPath?: string;
  /** Directives above php.ini, like `php -d`. */
  ini?: Record<string, IniValue>;
  /** Replaces the engine's own defaults, which sit below php.ini. */
  iniDefaults?: Record<string, IniValue>;
  /** Load OPcache (default true). */
  opcache?: boolean;
  /** Replace a worker thread after it served this many requests (0 = never). */
  maxRequests?: number;
  /** Stack size of each PHP thread in bytes (default 16 MiB). */
  stackSize?: number;
  /** $_SERVER['SERVER_SOFTWARE'] */
  serverSoftware?: string;
  /** 'ext' (default): $_SERVER built natively; 'eval': superglobals set by generated PHP code */
  executor?: 'ext' | 'eval';
  /** What max_execution_time counts: 'cpu' (default, as php-fpm on Linux) or 'wall' (PHP's ZTS timers). */
  executionTimeClock?: 'cpu' | 'wall';
  /** Environment copied into $_SERVER and getenv() (default: process.env at start). */
  env?: Record<string, string | undefined>;
  /** PHP's error log; default: one line per entry on stderr. */
  logger?: (entry: PhpLogEntry) => void;
  /**
   * Worker mode: scripts that boot once per thread and serve requests in a loop on
   * tokio_handle_request(); each has `threads` of its own beside the `workers` classic ones.
   * start() resolves once every one has booted.
   */
  workerScripts?: WorkerScriptOptions[];
  /** A worker script booted or ended on a thread. */
  onWorkerScript?: (event: WorkerScriptEvent) => void;
  /** ms; 0 or none: off. A request still running after it is reported once to onSlowRequest (php-fpm's request_slowlog_timeout). */
  slowlogTimeout?: number;
  onSlowRequest?: (request: SlowRequest) => void;
}

/** A request that ran past slowlogTimeout, caught at that moment; it runs on undisturbed. */
export interface SlowRequest {
  /** the PHP thread, and its Linux thread id */
  worker: number;
  tid: number;
  requestId: string;
  method: string;
  uri: string;
  /** SCRIPT_FILENAME */
  script: string;
  /** how long it had run when its backtrace was read */
  elapsedMs: number;
  /**
   * its PHP backtrace then, innermost call first, as php-fpm's slow log lines:
   * "[0x00007f3d48015140] sleep() /srv/slow.php:3", each with the file and line it was called from
   */
  trace: string;
}

export interface WorkerScriptOptions {
  /** absolute path */
  filename: string;
  /** URL path, its SCRIPT_NAME while it boots */
  name: string;
  documentRoot: string;
  threads: number;
  /** restart after about this many requests (up to 10 % fewer, so threads do not restart together); 0 never */
  maxRequests?: number;
  /** restart after a request that left more than this many bytes in use; 0 never */
  maxMemory?: number;
  /** consecutive failed boots before it is reported broken (default 6) */
  maxFailures?: number;
}

export type WorkerScriptEndReason =
  'max_requests' | 'max_memory' | 'reload' | 'watch' | 'shutdown' | 'ended' | 'killed' | 'fatal_error' | 'exit' | 'boot_failed';

export interface WorkerScriptEvent {
  /** the thread */
  worker: number;
  /** index in workerScripts */
  script: number;
  /** 'booted': it reached tokio_handle_request(); 'ended': it ended (and is started again) */
  kind: 'booted' | 'ended';
  /** ended: why */
  reason?: WorkerScriptEndReason;
  exitStatus: number;
  /** consecutive failed boots */
  failures: number;
  /** requests this run served */
  requests: number;
  /** booted: ms from its start */
  bootMs: number;
}

/** A request body in an unlinked temporary file, read by the PHP thread with pread. */
export interface SpooledBody {
  fd: number;
  length: number;
}

/** One request as the router resolved it. */
export interface PhpRequest {
  /** Chosen by the engine when absent; pass it to abort(). */
  id?: number;
  method: string;
  /** Path and query as received, e.g. "/index.php/a?b=1". */
  uri: string;
  /** QUERY_STRING, and what $_GET is made of; default: the part of `uri` after '?' (FastCGI: the front's own, which a rewrite makes differ) */
  query?: string;
  /** Absolute path of the script to run. */
  scriptFilename: string;
  /** URL path of the script, e.g. "/index.php". */
  scriptName: string;
  pathInfo?: string;
  documentRoot: string;
  /** ini lines for this request only (php-fpm's PHP_VALUE), "name=value" separated by newlines */
  phpValue?: string;
  /** the same, and ini_set() cannot change them (PHP_ADMIN_VALUE) */
  phpAdminValue?: string;
  /** Header lines as received: name, value, name, value, ... */
  headers?: string[];
  /** in memory, or spooled to a file: then the engine owns the descriptor from execute() on */
  body?: Buffer | SpooledBody;
  https?: boolean;
  protocol?: string;
  serverName?: string;
  serverAddr?: string;
  /** 0 or none: SERVER_PORT is empty, as nginx's $server_port on a Unix socket */
  serverPort?: number;
  remoteAddr?: string;
  /** 0 or none: REMOTE_PORT is empty (a Unix socket) */
  remotePort?: number;
  requestId?: string;
  /**
   * FastCGI: the front's PARAMS as sent (name-value pairs): $_SERVER's entries before serverVars;
   * its HTTP_* are the headers then, and `headers` is not read
   */
  cgiParams?: Buffer;
  /**
   * FastCGI: a connection lent for the PHP thread to write a whole response on itself (see
   * native/engine/fcgi_answer.h), the request's id on it, and headers to add (name, value, ...)
   */
  fcgiAnswer?: { fd: number; requestId: number; headers: readonly string[] };
  /** Extra $_SERVER entries. */
  serverVars?: Record<string, string>;
  /** Arrival time in ms since the epoch (REQUEST_TIME_FLOAT); default: now. */
  requestTime?: number;
  /** Longest a tokio_request_heartbeat() call may extend the deadline, ms; 0 (default) refuses them. */
  heartbeatMaxMs?: number;
  /** The client asked for text/event-stream: the script's output is not buffered. */
  eventStream?: boolean;
  /** Worker mode: the index of the worker script (in workerScripts) whose loop serves it. */
  workerScript?: number;
}

export interface ExecuteHooks {
  /** Stops the script (as abort(id, 'kill')) when aborted. */
  signal?: AbortSignal;
  /**
   * Streaming: flush() commits the headers (onHeaders) and sends what was written since as a
   * chunk (onChunk); tokio_finish_request() ends the response early (onFinish, with what is left).
   * After onChunk, call ack(id, bytes) once the socket took the bytes: past 1 MiB not yet taken,
   * the PHP thread waits.
   */
  /** `eventStream`: the script answers with Content-Type text/event-stream */
  onHeaders?: (status: number, reason: string, headers: string[], eventStream: boolean) => void;
  onChunk?: (chunk: Buffer) => void;
  /** headers_send(103): an informational response, with the headers the script has set so far */
  onHints?: (status: number, headers: string[]) => void;
  onFinish?: (status: number, reason: string, headers: string[], body: Buffer) => void;
  /** tokio_request_heartbeat(): the script asks for `ms` more from now. */
  onHeartbeat?: (ms: number) => void;
}

export interface PhpResponse {
  id: number;
  status: number;
  /** Reason phrase the script gave with header('HTTP/1.1 404 Gone'), else "". */
  reason: string;
  /** name, value, name, value, ... in the order PHP holds them; Set-Cookie lines stay apart. */
  headers: string[];
  /** The body, or with streaming hooks, what came after the last chunk. */
  body: Buffer;
  /** 255 after a fatal error, else what exit() gave. */
  exitStatus: number;
  /** Why the script was stopped early: 'kill' (abort/timeout), 'disconnect', or null. */
  aborted: 'kill' | 'disconnect' | null;
  /** true once onHeaders was called: the headers went out before the end. */
  streamed: boolean;
  /** the script called tokio_finish_request(): with streaming hooks onFinish had the response;
   * without them, `body` holds it (what came later was dropped) */
  finished: boolean;
  /** -1 if it never ran (aborted while queued) */
  worker: number;
  peakMemory: number;
  /** time spent waiting for a worker thread, ms */
  queueMs: number;
  /** time the script ran, ms (0 if it never ran) */
  execMs: number;
  /** with fcgiAnswer: the PHP thread wrote the response, with a body of this many bytes; else -1 */
  answeredBytes: number;
}

export interface WorkerStats {
  id: number;
  /** booting: a worker script on its way to tokio_handle_request(); stopped: no thread holds the slot (PM dynamic, ondemand: one may start there) */
  state: 'starting' | 'booting' | 'idle' | 'busy' | 'exiting' | 'stopped' | 'broken';
  requests: number;
  /** threads that have held this slot: more than 1 after a replacement, or (PM dynamic, ondemand) a new start */
  threads: number;
  /** threads that took over this slot from one that left (MAX_REQUESTS, a PHP context that could not start) */
  replaced: number;
  /** peak memory of its last request, bytes */
  peakMemory: number;
  /** id of the request it runs */
  job?: number;
  /** worker mode: the worker script this thread runs */
  script?: number;
  /** worker mode: its consecutive failed boots */
  failures?: number;
  /** stats(true) only: the thread now holding the slot (its Linux thread id, 0 before it ran) */
  tid?: number;
  /** stats(true): when that thread started, ms since the epoch */
  startedAt?: number;
  /** stats(true): requests that thread ran (`requests` counts the slot's) */
  threadRequests?: number;
  /** stats(true): the request it runs, or else the last it ran (empty strings before any) */
  request?: ThreadRequest;
}

/** A PHP thread's current or last request, as php-fpm's per-process status block shows it. */
export interface ThreadRequest {
  method: string;
  /** as received: path and query */
  uri: string;
  /** SCRIPT_FILENAME */
  script: string;
  /** PHP_AUTH_USER: a Basic Authorization header's user, else '' */
  user: string;
  contentLength: number;
  running: boolean;
  /** so far, while running */
  durationUs: number;
  /** once it ended: the thread's CPU time over the request's wall time, in % */
  cpuPercent: number;
  /** once it ended: its peak PHP memory, bytes */
  memory: number;
}

export interface EngineStats {
  queued: number;
  inFlight: number;
  workers: WorkerStats[];
}

export interface EngineInfo extends NativeStartInfo {}

/** A request in the engine: how to answer it, and its streaming hooks. */
interface Pending {
  resolve: (response: PhpResponse) => void;
  hooks?: ExecuteHooks;
  /** a spooled body's descriptor, closed (through Node's fs, which opened it) once answered */
  bodyFd?: number;
}

// native/engine/output_buffer.h's kInline: bodies up to it arrive as copies
const RELEASE_MIN_BYTES = 8 * 1024;

// execute()'s fields: the addon reads them one by one, where joining them made a string in the
// JS heap (and concatenating, a string per piece, flattened by the addon into yet another).
// Reused by every call: execute() is synchronous and the addon copies the strings at once.
const WIRE: string[] = [];
const TEXT: string[] = [];

// One executor for every execute() promise, not a closure (and its context) per call: it hands
// `resolve` out through `taken`, read right after `new Promise` returns.
const noResolve = (): void => {};
let taken: (response: PhpResponse) => void = noResolve;
function takeResolve(resolve: (response: PhpResponse) => void): void {
  taken = resolve;
}

// the engines that may share a pool: the one that started PHP (channel 0) and those attached to it
const CHANNELS = 64;

/** The native engine's answer callbacks, resolving the requests in `pending`. */
function answers(pending: Map<number, Pending>, logger: (entry: PhpLogEntry) => void, native: () => NativeEngine):
  Pick<NativeEngineOptions, 'onLog' | 'onDone' | 'onStream'> {
  return {
    onLog: (level, message, requestId) => logger({ level, message, requestId }),
    onDone: (id, status, reason, headers, body, exitStatus, aborted, streamed, finished, worker, peakMemory, outputFailed, queueMs, execMs, answeredBytes) => {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (p.bodyFd !== undefined) close(p.bodyFd, () => {});
      if (outputFailed) logger({ level: 3, message: 'the response could not be captured (memory or memfd): answered 500', requestId: undefined });
      p.resolve({ id, status, reason, headers, body, exitStatus, aborted, streamed, finished, worker, peakMemory, queueMs, execMs, answeredBytes });
    },
    onStream: (id, ...event) => {
      const h = pending.get(id)?.hooks;
      try {
        if (event[0] === 'headers') h?.onHeaders?.(event[1], event[2], event[3], event[4]);
        else if (event[0] === 'hints') h?.onHints?.(event[1], event[2]);
        else if (event[0] === 'chunk') h?.onChunk?.(event[1]);
        else if (event[0] === 'finish') h?.onFinish?.(event[1], event[2], event[3], event[4]);
        else h?.onHeartbeat?.(event[1]);
      } catch (err) {
        // a failing hook costs its own request, not the process
        logger({ level: 3, message: `streaming hook failed: ${err instanceof Error ? err.stack : String(err)}`, requestId: undefined });
        native().abort(id, AbortReason.Kill);
      }
    },
  };
}

function nativePm(pm: PoolManager): Pick<NativeEngineOptions, 'pm' | 'pmStartWorkers' | 'pmMinSpare' | 'pmMaxSpare' | 'pmIdleTimeoutMs'> {
  return {
    pm: pm.mode,
    ...pm.mode === 'dynamic' && { pmStartWorkers: pm.startWorkers, pmMinSpare: pm.minSpare, pmMaxSpare: pm.maxSpare },
    ...pm.mode === 'ondemand' && { pmIdleTimeoutMs: pm.idleTimeoutMs },
  };
}

function defaultLogger(entry: PhpLogEntry): void {
  process.stderr.write(`[php]${entry.requestId ? ` [${entry.requestId}]` : ''} ${entry.message}\n`);
}

export class Engine {
  readonly info: EngineInfo;
  readonly #native: NativeEngine;
  readonly #pending: Map<number, Pending>;
  readonly #channel: number;
  #nextId: number;
  #stopped = false;

  private constructor(native: NativeEngine, info: EngineInfo, pending: Map<number, Pending>, channel: number) {
    this.#native = native;
    this.info = info;
    this.#pending = pending;
    this.#channel = channel;
    this.#nextId = channel + CHANNELS;
  }

  /** Starts PHP and its worker threads; rejects when PHP cannot start (bad php.ini, no ZTS, ...). */
  static async start(options: EngineOptions = {}): Promise<Engine> {
    const scripts = options.workerScripts ?? [];
    // classic scripts always keep a thread: OPcache's figures and any other .php file run there
    const workers = options.workers ?? (scripts.length ? 1 : os.availableParallelism());
    const threads = workers + scripts.reduce((n, s) => n + s.threads, 0);
    if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
      throw new RangeError(`workers must be an integer from 1 to 1024, got ${workers}`);
    }
    if (threads > 1024) throw new RangeError(`at most 1024 PHP threads in all, workers and worker scripts': got ${threads}`);
    const logger = options.logger ?? defaultLogger;
    const entries = options.opcache === false ? '' : 'zend_extension=opcache\n';
    const env = Object.entries(options.env ?? process.env)
      .filter((kv): kv is [string, string] => typeof kv[1] === 'string')
      .map(([k, v]) => `${k}=${v}`);
    const { Engine: NativeEngineClass } = nativeAddon();
    const pending = new Map<number, Pending>();
    const native: NativeEngine = new NativeEngineClass({
      workers,
      process: options.process ?? 0,
      stackSize: options.stackSize ?? 16 * 1024 * 1024,
      maxRequests: options.maxRequests ?? 0,
      ...nativePm(options.pm ?? { mode: 'static' }),
      iniPath: options.iniPath ?? process.env.PHP_INI_PATH ?? '',
      iniDefaults: rawIniLines(options.iniDefaults ?? ENGINE_INI_DEFAULTS),
      iniEntries: entries + iniLines(options.ini ?? {}),
      serverSoftware: options.serverSoftware ?? `tokio-php/${VERSION}`,
      version: VERSION,
      executor: options.executor ?? 'ext',
      executionTimeClock: options.executionTimeClock ?? 'cpu',
      env,
      ...answers(pending, logger, () => native),
      workerScripts: scripts.map((s) => ({
        filename: s.filename, name: s.name, documentRoot: s.documentRoot, threads: s.threads,
        maxRequests: s.maxRequests ?? 0, maxMemory: s.maxMemory ?? 0, maxFailures: s.maxFailures ?? 6,
      })),
      onScript: (worker, script, ended, reason, exitStatus, failures, requests, bootMs) => {
        options.onWorkerScript?.({
          worker, script, kind: ended ? 'ended' : 'booted', reason: ended ? reason as WorkerScriptEndReason : undefined,
          exitStatus, failures, requests, bootMs,
        });
      },
      slowlogTimeoutMs: options.slowlogTimeout ?? 0,
      onSlow: (worker, tid, requestId, method, uri, script, elapsedMs, trace) => {
        options.onSlowRequest?.({ worker, tid, requestId, method, uri, script, elapsedMs, trace });
      },
    });
    const info = await native.start();
    return new Engine(native, info, pending, 0);
  }

  /**
   * From another JS thread of this process (an HTTP event loop on a worker_thread): an engine on
   * the pool that start() began elsewhere in the process, answering on this thread. `channel`
   * (1 to 63, unique in the process) keeps request ids apart. shutdown() detaches it, once its
   * requests in flight are answered; PHP stops with the engine that started it.
   */
  static async attach(channel: number, logger: (entry: PhpLogEntry) => void = defaultLogger): Promise<Engine> {
    if (!Number.isInteger(channel) || channel < 1 || channel >= CHANNELS) throw new RangeError(`channel must be an integer from 1 to ${CHANNELS - 1}`);
    const pending = new Map<number, Pending>();
    const native: NativeEngine = new (nativeAddon().Engine)({ attach: true, channel, ...answers(pending, logger, () => native) });
    const info = await native.start();
    return new Engine(native, info, pending, channel);
  }

  #allocateId(): number {
    const id = this.#nextId;
    // ids are uint32 on the native side, and each engine of the pool has its residue modulo CHANNELS
    this.#nextId = id > 0xffffffff - CHANNELS ? this.#channel + CHANNELS : id + CHANNELS;
    return id;
  }

  /** Runs one request; resolves when the script and its shutdown functions have finished. */
  execute(request: PhpRequest, hooks: ExecuteHooks = {}): Promise<PhpResponse> {
    if (this.#stopped) return Promise.reject(new Error('the engine is shut down'));
    const id = (request.id ??= this.#allocateId());
    const uri = request.uri;
    const q = uri.indexOf('?');
    // the strings cross in two calls: see WireField and TextField in native/addon.ts
    const w = WIRE;
    w[0] = request.method;
    w[1] = uri;
    w[2] = request.query ?? (q < 0 ? '' : uri.slice(q + 1));
    w[3] = request.protocol ?? 'HTTP/1.1';
    w[4] = request.requestId ?? '';
    w[5] = request.serverName ?? '';
    w[6] = request.serverAddr ?? '';
    w[7] = request.serverPort ? String(request.serverPort) : '';
    w[8] = request.remoteAddr ?? '';
    w[9] = request.remotePort ? String(request.remotePort) : '';
    let n = 10;
    const headers = request.cgiParams ? undefined : request.headers;
    if (headers) for (let i = 0; i + 1 < headers.length; i += 2) {
      w[n++] = headers[i];
      w[n++] = headers[i + 1];
    }
    w.length = n;
    const t = TEXT;
    t[0] = request.scriptFilename;
    t[1] = request.scriptName;
    t[2] = request.pathInfo ?? '';
    t[3] = request.documentRoot;
    t[4] = request.phpValue ?? '';
    t[5] = request.phpAdminValue ?? '';
    n = 6;
    if (request.serverVars) for (const k in request.serverVars) {
      t[n++] = k;
      t[n++] = request.serverVars[k];
    }
    t.length = n;
    const body = request.body ?? null;
    const { signal } = hooks;
    if (signal?.aborted) {
      if (body && !Buffer.isBuffer(body)) close(body.fd, () => {});
      return Promise.reject(signal.reason);
    }
    const streaming = Boolean(hooks.onHeaders || hooks.onChunk || hooks.onFinish || hooks.onHeartbeat);
    const flags = (request.https ? ExecuteFlag.Https : 0) | (streaming ? ExecuteFlag.Streaming : 0) |
      (request.eventStream ? ExecuteFlag.EventStream : 0) |
      (request.workerScript === undefined ? 0 : (request.workerScript + 1) << ExecuteFlag.TargetShift);
    const bodyFd = body && !Buffer.isBuffer(body) ? body.fd : undefined;
    const result = new Promise<PhpResponse>(takeResolve);
    this.#pending.set(id, { resolve: taken, hooks: streaming ? hooks : undefined, bodyFd });
    taken = noResolve; // held no longer than this call: a settled promise holds its response
    try {
      this.#native.execute(id, w, t, bodyFd ?? (body as Buffer | null), flags, body ? body.length : -1,
        (request.requestTime ?? Date.now()) / 1000, request.heartbeatMaxMs ?? 0, request.cgiParams,
        request.fcgiAnswer?.fd, request.fcgiAnswer?.requestId, request.fcgiAnswer?.headers);
    } catch (err) {
      this.#pending.delete(id);
      if (bodyFd !== undefined) close(bodyFd, () => {});
      return Promise.reject(err);
    }
    if (!signal) return result;
    const onAbort = () => this.abort(id);
    signal.addEventListener('abort', onAbort, { once: true });
    return result.finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** A streamed response's `bytes` were taken by the socket (see ExecuteHooks). */
  ack(id: number, bytes: number): void {
    this.#native.ack(id, bytes);
  }

  /**
   * A body this engine answered with (PhpResponse.body, onFinish's) once nothing needs its bytes:
   * its memory goes back now rather than at a garbage collection. It reads as empty afterwards.
   */
  releaseBody(body: Buffer): void {
    // smaller bodies are copies the collector frees cheaply: not worth a native call
    if (body.length > RELEASE_MIN_BYTES) this.#native.releaseBody(body);
  }

  /**
   * Stops a queued or running request. 'kill' (timeouts) stops it at its next opcode or
   * blocking call, shutdown functions included; 'disconnect' (the client left) does what
   * php-fpm does: stops it unless it called ignore_user_abort(true).
   * Returns false when the request is not in the engine (already answered).
   */
  abort(id: number, reason: 'kill' | 'disconnect' = 'kill'): boolean {
    return this.#native.abort(id, reason === 'disconnect' ? AbortReason.Disconnect : AbortReason.Kill);
  }

  /** A request with fcgiAnswer: true, the caller answers it and its PHP thread will not; false, the PHP thread answers. */
  claim(id: number): boolean {
    return this.#native.claim(id);
  }

  /** ms since a PHP thread took the request; -1 while it waits in the queue, or once it is done */
  runningFor(id: number): number {
    return this.#native.runningFor(id);
  }

  /** `full`: with each thread's id, start, and current or last request (/status?full) */
  stats(full = false): EngineStats {
    return this.#native.stats(full);
  }

  /**
   * Worker mode: restarts the worker scripts while requests go on, one thread at a time (the
   * next once the last has booted); a boot that fails ends the round, and the threads not yet
   * restarted keep what they booted. Returns the threads to restart.
   */
  restartWorkerScripts(reason: 'reload' | 'watch' = 'reload'): number {
    return this.#native.restartScripts(reason);
  }

  /** Lets queued and running requests finish, then joins every thread and shuts PHP down. */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    await this.#native.shutdown();
  }
}
