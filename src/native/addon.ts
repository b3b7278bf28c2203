// The addons' one loader and their surface, typed (tokio_php.node: the engine; tokio_net.node:
// sockets and shared tables). Everything PHP-side crosses here as strings, numbers and Buffers.
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package.js';
import type { ListenAddress } from '../config/config.js';
import type { EngineStats } from '../engine/engine.js';

/**
 * execute() takes a request's strings in two NUL-joined strings, or two arrays of the strings they
 * join (native/engine/job.h mirrors these positions): `wire`, latin1, these fields then header
 * name, value, ...; `text`, UTF-8, the TextField fields then $_SERVER name, value, ...
 */
export const enum WireField {
  Method, RequestUri, QueryString, Protocol, RequestId, ServerName, ServerAddr, ServerPort,
  RemoteAddr, RemotePort, Count,
}
export const enum TextField { ScriptFilename, ScriptName, PathInfo, DocumentRoot, PhpValue, PhpAdminValue, Count }

export const enum AbortReason { Disconnect = 1, Kill = 2 }

/** What the addon passes after a streamed request's id, by kind: ExecuteHooks' arguments. */
export type NativeStreamEvent =
  | [kind: 'headers', status: number, reason: string, headers: string[], eventStream: boolean]
  | [kind: 'hints', status: number, headers: string[]]
  | [kind: 'chunk', chunk: Buffer]
  | [kind: 'finish', status: number, reason: string, headers: string[], body: Buffer]
  | [kind: 'heartbeat', ms: number];

export interface NativeEngineOptions {
  workers: number;
  process: number;
  stackSize: number;
  maxRequests: number;
  /** the classic threads' process manager: see PoolManager in src/engine/engine.ts */
  pm: 'static' | 'dynamic' | 'ondemand';
  /** dynamic */
  pmStartWorkers?: number;
  pmMinSpare?: number;
  pmMaxSpare?: number;
  /** ondemand */
  pmIdleTimeoutMs?: number;
  iniPath: string;
  iniDefaults: string;
  iniEntries: string;
  serverSoftware: string;
  version: string;
  executor: 'ext' | 'eval';
  executionTimeClock: 'cpu' | 'wall';
  env: string[];
  onLog: (level: number, message: string, requestId: string | undefined) => void;
  onStream: (id: number, ...event: NativeStreamEvent) => void;
  /** a request's answer, positionally: see NativeDone */
  onDone: NativeDone;
  /** worker mode: the scripts, each with threads of its own beside the `workers` classic ones */
  workerScripts: NativeWorkerScript[];
  onScript: NativeScriptEvent;
  /** 0: off; else onSlow reports, once, each request still running after this many ms */
  slowlogTimeoutMs: number;
  onSlow: (worker: number, tid: number, requestId: string, method: string, uri: string, script: string, elapsedMs: number, trace: string) => void;
}

/** An engine of another JS thread: attached to the pool of the one that started PHP, it answers its own requests. */
export type NativeChannelOptions = { attach: true; channel: number } & Pick<NativeEngineOptions, 'onLog' | 'onStream' | 'onDone'>;

export interface NativeWorkerScript {
  filename: string;
  /** its URL path, SCRIPT_NAME while it boots */
  name: string;
  documentRoot: string;
  threads: number;
  maxRequests: number;
  maxMemory: number;
  maxFailures: number;
}

/** a worker script booted (ended false) or ended, on thread `worker` */
export type NativeScriptEvent = (
  worker: number, script: number, ended: boolean, reason: string | null,
  exitStatus: number, failures: number, requests: number, bootMs: number,
) => void;

export type NativeDone = (
  id: number, status: number, reason: string, headers: string[], body: Buffer, exitStatus: number,
  aborted: 'kill' | 'disconnect' | null, streamed: boolean, finished: boolean, worker: number,
  peakMemory: number, outputFailed: boolean, queueMs: number, execMs: number, answeredBytes: number,
) => void;

/** execute()'s flags; bits 8 and up: 1 + the worker script to run it, 0 a classic thread */
export const enum ExecuteFlag { Https = 1, Streaming = 2, EventStream = 4, TargetShift = 8 }

export interface NativeStartInfo {
  phpVersion: string;
  sapiName: string;
  zts: boolean;
  opcache: boolean;
  /** what max_execution_time counts: 'cpu' as php-fpm, or 'wall' (asked for, or a libphp without our patch) */
  executionTimeClock: 'cpu' | 'wall';
  /** each PHP thread has its own umask; false where unshare(CLONE_FS) is refused (Docker's default seccomp profile) */
  umaskPerThread: boolean;
  /** classic threads */
  workers: number;
  /** every PHP thread: the classic ones and the worker scripts' */
  threads: number;
}

export interface NativeEngine {
  start(): Promise<NativeStartInfo>;
  /** Queues a request; its answer comes through onDone. A numeric `body` is a spooled body's descriptor, now the engine's. */
  execute(
    id: number, wire: string | readonly string[], text: string | readonly string[], body: Buffer | number | null,
    flags: number, contentLength: number, requestTime: number, heartbeatMaxMs: number, cgiParams?: Buffer,
    fcgiFd?: number, fcgiRequestId?: number, fcgiHeaders?: readonly string[],
  ): void;
  abort(id: number, reason: AbortReason): boolean;
  /** a request given a FastCGI connection: true, JS answers it (its PHP thread will not); false, the PHP thread does */
  claim(id: number): boolean;
  /** ms since a worker took the request; -1 while queued or once done */
  runningFor(id: number): number;
  /** the socket took `bytes` more of a streamed response: the PHP thread may write on */
  ack(id: number, bytes: number): void;
  /** frees a body from onDone or onStream at once; it reads as empty afterwards */
  releaseBody(body: Buffer): void;
  /** `full`: with each thread's id, start, and current or last request (/status?full) */
  stats(full?: boolean): EngineStats;
  /** worker mode: restarts every worker script, a thread at a time; returns how many */
  restartScripts(reason: 'reload' | 'watch'): number;
  shutdown(): Promise<void>;
}

/** Accepts connections and says who should serve each: see native/gate/gate.cc. */
export interface NativeGate {
  /**
   * Accepts on `fds`, listening sockets from listenSocket(), which the gate now owns; returns
   * their addresses. `headTimeoutMs`: the longest silence before a first request head is
   * complete; `tls`: the connections speak TLS, and go to uWS unread unless `http2` (then those
   * whose ClientHello offers h2 are 'h2'); `serverHeader`: for the gate's own 400 and 505 answers
   * ('' for none); `http2`: a plain connection that opens with the HTTP/2 preface is 'h2';
   * `tls13`: a TLS client that cannot speak TLS 1.3 gets a protocol_version alert; `raw`: the
   * connections are not HTTP (FastCGI) and all go to JS unread, as 'node'.
   */
  listen(fds: number[], headTimeoutMs: number, tls: boolean, serverHeader: string, http2: boolean, tls13: boolean, raw?: boolean): ListenAddress[];
  /** no new connections: those accepted are still handed over */
  stopAccepting(): void;
  /** before listen(), `raw`: connections on Unix sockets go to `connections` unread, not to JS */
  handTo(connections: NativeFcgiConnections): void;
  /**
   * this process has `free` PHP threads free, after an admission (`change` +1), a release (-1) or
   * neither (0): the least loaded process gets the next connections, and the board keeps the
   * pool's maxima (boardMaxima)
   */
  setFree(free: number, change: 1 | -1 | 0): void;
  /** this process is `slot` of the sibling board (from siblingBoard()), with `threads` PHP threads */
  share(boardFd: number, slot: number, threads: number): void;
  close(): void;
}

/** FastCGI's connections, served in the addon on this thread's loop: see native/fastcgi/fcgi_connections.cc. */
export interface NativeFcgiConnections {
  /**
   * serves the accepted connection `fd` from now on: its id, 0 if it could not. (A gate hands
   * connections on Unix sockets over by itself: JS first hears of those at their first event.)
   */
  adopt(fd: number): number;
  /** false once more than 64 KB wait unwritten: a Drain event follows */
  write(conn: number, data: Uint8Array | Uint8Array[]): boolean;
  /** the request is answered; without `keepOpen` the connection closes once its bytes are written */
  finish(conn: number, requestId: number, keepOpen: boolean): void;
  /** the descriptor, for a PHP thread to write the answer on until finish() or release(); -1 if it cannot */
  lend(conn: number): number;
  /** a lent connection is JS's again, the PHP thread having written nothing */
  release(conn: number): void;
  close(): void;
}

/** What FcgiConnections tells JS of a connection. */
export const enum FcgiEvent {
  /** a request's PARAMS are complete: `data` is them, as sent; `keepConn`: FCGI_KEEP_CONN */
  Request = 1,
  /** a STDIN record's content; empty: the body is complete */
  Stdin = 2,
  /** ABORT_REQUEST */
  Abort = 3,
  /** the front left, or sent what no FastCGI client sends (`data` says what) */
  Closed = 4,
  /** write() returned false and its bytes are written now */
  Drain = 5,
}
type FcgiEventCallback = (conn: number, kind: FcgiEvent, requestId: number, data: Buffer | string | undefined, keepConn: boolean) => void;

/** a connection's descriptor, who serves it, and its two ends (ports are 0 on a Unix socket) */
type GateCallback = (fd: number, verdict: 'uws' | 'node' | 'h2', remoteAddr: string, remotePort: number, serverAddr: string, serverPort: number) => void;

/** What uws-pack 20.0.8 does not expose about its sockets: see native/gate/uws_socket.cc. */
export interface NativeUwsSocket {
  /** true when the loaded uWebSockets.js binary at `binaryPath` has what the others need */
  attach(binaryPath: string): boolean;
  /** the descriptor a uWS request arrived on, -1 when `res` holds no live socket */
  socketFd(res: object): number;
  /** stops the `uWebSockets: 20` response header on the loop serving `res`; false if it could not */
  silence(res: object, ssl: boolean): boolean;
  /** the socket of `res` closes after `seconds` without data, not uWS's own 10 s (re-armed per 160 KB); false if it could not */
  keepReading(res: object, ssl: boolean, seconds: number): boolean;
  /**
   * Every request head after a connection's first, on plain `app`, is read before uWS parses it
   * (native/gate/uws_heads.cc): a head not whole `headerTimeoutMs` after its first byte closes the
   * connection, and one uWS would refuse goes to `onHandOver` with a duplicate of the connection
   * and the bytes read from it. False when this binary's layout is not the known one.
   */
  watchHeads(app: object, headerTimeoutMs: number, onHandOver: HandOverCallback): boolean;
  /**
   * Writes an informational response (103 Early Hints) on the socket of `res` ahead of uWS, which
   * has no way to send one; false, and nothing written, unless the socket had nothing queued.
   */
  writeInformational(res: object, ssl: boolean, bytes: string): boolean;
}

export type HandOverCallback = (fd: number, bytes: Buffer, remoteAddr: string, remotePort: number, serverAddr: string, serverPort: number) => void;

/** RATE_LIMIT's token buckets in shared memory (native/ratelimit/rate_table.cc) */
export interface NativeRateTable {
  /** one request of `client`: the tokens left (>= 0), or, refused, minus the ms until one is back */
  take(client: string, perSecond: number, burst: number): number;
}

/** tokio_php.node: the engine; it links libphp, so only server processes load it. */
interface PhpAddon {
  Engine: new (options: NativeEngineOptions | NativeChannelOptions) => NativeEngine;
  /** loads OPcache's shared object from the build's extension_dir now (before a process drops root); null, or why not */
  preloadOpcache(): string | null;
}

/** tokio_net.node: sockets and shared tables, without PHP (the supervisor loads only this one). */
interface NetAddon {
  Gate: {
    new (onConnection: GateCallback): NativeGate;
    /** a listening socket, shareable with server processes, and its address; throws the system's reason (and the failed call as `syscall`) */
    listenSocket(address: ListenAddress | { path: string; mode: number; uid: number; gid: number }): { fd: number; address: ListenAddress };
    /** stopAccepting() on every gate of the process, at once */
    stopAcceptingAll(): void;
    /** another descriptor of the listening socket `fd`, for another event loop's gate to own */
    duplicate(fd: number): number;
    /** shared memory where server processes say which of them has a free PHP thread (native/gate/siblings.cc) */
    siblingBoard(): number;
    /** the process of `slot` is gone */
    markGone(boardFd: number, slot: number): void;
    /** the most PHP requests running at once, and waiting at once, in all the board's processes together */
    boardMaxima(boardFd: number): { maxActive: number; maxWaiting: number };
  };
  uws: NativeUwsSocket;
  FcgiConnections: new (onEvent: FcgiEventCallback) => NativeFcgiConnections;
  RateTable: {
    new (fd: number): NativeRateTable;
    /** a new empty table's memfd, shareable with server processes */
    create(): number;
  };
}

function load<T>(name: string): T {
  const file = path.join(PACKAGE_ROOT, `build/Release/${name}.node`);
  try {
    return createRequire(import.meta.url)(file) as T;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`tokio-php's native addon could not be loaded from ${file}: ${why}\n` +
      'Build it with `npm install` (it builds PHP 8.4 ZTS if needed), or `npm rebuild tokio-php`.', { cause: err });
  }
}

let php: PhpAddon | undefined;
export function nativeAddon(): PhpAddon {
  php ??= load<PhpAddon>('tokio_php');
  return php;
}

let net: NetAddon | undefined;
export function netAddon(): NetAddon {
  net ??= load<NetAddon>('tokio_net');
  return net;
}
