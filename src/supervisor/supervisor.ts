// The supervisor: it makes the listening sockets once and runs PROCESSES server processes on them,
// each a full server with its share of the PHP threads (Node's cluster carries their messages).
// Sockets shared by all mean a process that stops or crashes loses no queued connection: the
// others accept it. A process that dies is replaced at once, with a backoff when it keeps dying.
// SIGHUP (and SIGUSR2 outside worker mode) replaces the processes one by one, each new one ready
// before an old one drains; in worker mode SIGUSR2 restarts the worker scripts in place; SIGTERM and SIGINT drain them all; SIGUSR1 reopens the log file. It also serves the
// internal port (src/internal-port/), where one scrape sees every process. Started as root, it
// keeps root and runs no PHP; the server processes give it up for USER (./privileges.ts).
import cluster, { type Worker } from 'node:cluster';
import { closeSync } from 'node:fs';
import os from 'node:os';
import { formatListenAddress, type Config, type ListenAddress } from '../config/config.js';
import { netAddon } from '../native/addon.js';
import { InternalServer, type InternalSource } from '../internal-port/internal-server.js';
import { ProcessReports } from '../internal-port/reports.js';
import { exitAfterLog, reopenLog, type Logger } from '../log.js';
import { counter, gauge } from '../metrics/recorder.js';
import { VERSION } from '../package.js';
import { FASTCGI_SOCKET, openListeningSocket, removeSocketFile, socketsFor } from '../transport/sockets.js';
import { watchFiles, type Watcher } from '../worker-mode/watch.js';
import { BOARD_SLOT_ENV, handover, SOCKETS_ENV } from './handover.js';
import { received, tell, type ProcessMessage } from './messages.js';
import { currentUser, prepareLogFile, RUN_AS_ENV, type RunAs } from './privileges.js';

// A process that dies sooner than this after its start counts as a crash loop.
const STABLE_MS = 10_000;
const BACKOFF_MAX_MS = 10_000;
// What a process may take beyond DRAIN_TIMEOUT to exit before it is killed.
const EXIT_GRACE_MS = 10_000;

/**
 * V8 flags of every server process (all its isolates: the main thread and each HTTP thread).
 * V8 grows an isolate's young generation up to 2 × 16 MiB under load and keeps it (the memory
 * reducer does not shrink a worker_thread's): about 28 MiB touched per event loop, for objects that
 * live one request. Semi-spaces of 2 MiB cut that to 4 MiB per loop (measured: hello world and the
 * 100-class autoload on HTTP_THREADS=2, the server process went from 129 to 80 MiB PSS) for more,
 * cheaper scavenges (about +400 ms of GC over 16 s of full load: within the noise of
 * requests per second). --heap-growing-percent=20 starts a full collection once the old generation
 * is 1.2× its live size after the last one, where V8 lets it reach 2–4× under load: the same load
 * left 59–60 instead of 63–69 MiB of anonymous memory in the server process, with as many
 * collections and as much GC pause (43 ms per 10 s at 1,430 hello-world requests/s) and the same
 * CPU time per request. (--optimize-for-size kept it at 46–51 MiB, but collects in its memory-
 * reducing mode, which shrinks the young generation: twice the scavenges, and full-collection pauses
 * of 5–9 ms every 1.5 s at that rate, a latency tail.) A flag of the user's own (node's options or
 * NODE_OPTIONS) wins.
 */
export function serverExecArgv(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const own = (flag: string) => [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.replace(/_/g, '-').startsWith(flag));
  const defaults = [['--max-semi-space-size', '=2'], ['--heap-growing-percent', '=20']].filter(([flag]) => !own(flag));
  return [...execArgv, ...defaults.map(([flag, value]) => flag + value)];
}

type ProcessReady = Extract<ProcessMessage, { type: 'ready' }>;
/** what the first process said as it was ready, with the workers of all, and where they all listen */
type Ready = ProcessReady & { internalPort?: number; listening: { name: string; address: ListenAddress }[] };
type Replacement = 'crash' | 'stuck' | 'reload';

interface Slot {
  index: number;
  /** the process serving this slot (a replacement takes over once it is ready) */
  current: Worker | null;
  /** the PHP threads of the current process (worker mode adds the worker scripts' to PHP_WORKERS' share) */
  workers: number;
  /** worker mode: the current process said a worker script of its is broken */
  broken: boolean;
  starting: Worker | null;
  startedAt: number;
  crashes: number;
}

export class Supervisor {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #slots: Slot[] = [];
  readonly #retiring = new Set<Worker>();
  readonly #boardSlots = new Map<Worker, number>(); // each live process's place on the sibling board
  #boardFd = -1;
  #listening: { name: string; fd: number; address: ListenAddress }[] = [];
  #handover = ''; // what each process's TOKIO_SOCKETS says
  #stopping = false;
  #reloading = false;
  #started = false; // every first process was ready: from then on, one that exits is replaced
  readonly #reports = new ProcessReports();
  readonly #replaced: Record<Replacement, number> = { crash: 0, stuck: 0, reload: 0 };
  readonly #startedAt = Date.now();
  #php = '';
  #watcher: Watcher | null = null;

  /** whom the server processes run PHP as (they drop root themselves); null: as the supervisor */
  readonly #runAs: RunAs | null;

  constructor(config: Config, log: Logger, runAs: RunAs | null = null) {
    this.#config = config;
    this.#log = log;
    this.#runAs = runAs;
  }

  /** Binds, starts every process and resolves once all serve. */
  async start(): Promise<Ready> {
    this.#listening = socketsFor(this.#config).map(({ name, address }) => ({ name, ...openListeningSocket(address, this.#config, this.#runAs, name) }));
    this.#boardFd = netAddon().Gate.siblingBoard();
    const rateTableFd = this.#config.rateLimit ? netAddon().RateTable.create() : undefined;
    const { stdio, env } = handover(this.#listening, this.#boardFd, rateTableFd);
    this.#handover = env;
    cluster.setupPrimary({ execArgv: serverExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...stdio] });
    const internal = this.#config.internal;
    // first, so that a taken INTERNAL_ADDR stops startup before any PHP starts
    const internalPort = internal ? await new InternalServer(this.#internalSource(), this.#log, this.#config.adminToken).listen(internal.host, internal.port) : undefined;
    for (let i = 0; i < this.#config.processes; i++) {
      this.#slots.push({ index: i, current: null, workers: 0, broken: false, starting: null, startedAt: 0, crashes: 0 });
    }
    const ready = await Promise.all(this.#slots.map((slot) => this.#spawn(slot)));
    if (ready.some((r) => !r)) {
      for (const w of this.#workers()) w.process.kill('SIGKILL'); // the others would serve alone, for nothing
      throw new Error('a server process exited before it was ready (see the log above)');
    }
    this.#started = true;
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
    process.on('SIGHUP', () => void this.reload('SIGHUP'));
    // worker mode: the worker scripts restart in their processes; else the processes are replaced
    process.on('SIGUSR2', () => (this.#config.workerScripts.length ? this.restartWorkers('reload') : void this.reload('SIGUSR2')));
    if (this.#config.workerWatch.length) {
      this.#watcher = watchFiles(this.#config.workerWatch, this.#config.documentRoot, (file) => {
        this.#log.info({ file }, 'a watched file changed: restarting the worker scripts');
        this.restartWorkers('watch');
      });
    }
    process.on('SIGUSR1', () => {
      const { logFile } = this.#config;
      if (this.#runAs && logFile) {
        try {
          prepareLogFile(logFile, this.#runAs); // the new file is theirs before they open it
        } catch (err) {
          this.#log.error({ err, file: logFile }, 'cannot make the new log file');
        }
      }
      reopenLog();
      for (const w of this.#workers()) w.process.kill('SIGUSR1');
    });
    // the PHP threads of every process (worker mode adds the worker scripts' own)
    return { ...ready[0]!, workers: ready.reduce((n, r) => n + r!.workers, 0), internalPort, listening: this.#listening.map(({ name, address }) => ({ name, address })) };
  }

  #internalSource(): InternalSource {
    return {
      health: () => ({
        uptimeSeconds: Math.floor((Date.now() - this.#startedAt) / 1000), version: VERSION, php: this.#php,
        processes: this.#slots.filter((s) => s.current).length,
        workers: this.#slots.reduce((n, s) => n + (s.current ? s.workers : 0), 0),
      }),
      ready: () => !this.#stopping && this.#slots.some((s) => s.current) && !this.#slots.some((s) => s.current && s.broken),
      restartWorkers: this.#config.workerScripts.length ? () => this.restartWorkers('reload') : undefined,
      poolMaxima: () => (this.#boardFd >= 0 ? netAddon().Gate.boardMaxima(this.#boardFd) : null),
      collect: async (metrics, full) => {
        const serving = [...this.#slots.flatMap((s) => (s.current ? [s.current] : [])), ...this.#retiring];
        const { reports, retired } = await this.#reports.collect(serving, metrics, full);
        const own = [
          gauge('processes', 'Server processes serving.', [{ value: this.#slots.filter((s) => s.current).length, labels: {} }]),
          counter('process_replacements_total', 'Server processes replaced: after a crash, a stuck script, or a reload (SIGHUP; SIGUSR2 outside worker mode).',
            (Object.keys(this.#replaced) as Replacement[]).map((reason) => ({ value: this.#replaced[reason], labels: { reason } }))),
        ];
        return { reports, retired, own };
      },
    };
  }

  /** Starts a process for `slot`; resolves with its ready message, or null if it died first. */
  #spawn(slot: Slot): Promise<ProcessReady | null> {
    const taken = new Set(this.#boardSlots.values());
    let place = 0;
    while (taken.has(place)) place++;
    const worker = cluster.fork({
      TOKIO_PROCESS_INDEX: String(slot.index), [SOCKETS_ENV]: this.#handover, [BOARD_SLOT_ENV]: String(place),
      ...(this.#runAs ? { [RUN_AS_ENV]: JSON.stringify(this.#runAs) } : {}),
    });
    this.#boardSlots.set(worker, place);
    slot.starting = worker;
    slot.startedAt = Date.now();
    return new Promise((resolve) => {
      worker.on('message', (raw) => {
        const message = received(raw);
        if (message?.type === 'report') {
          this.#reports.received(worker, message.id, message.report);
        } else if (message?.type === 'ready') {
          this.#php ||= message.php ?? '';
          this.#log.info({ process: slot.index, pid: worker.process.pid }, 'server process ready');
          if (slot.starting === worker) {
            const previous = slot.current;
            slot.current = worker;
            slot.workers = message.workers;
            slot.broken = false;
            slot.starting = null;
            // a reload goes on once the old process accepts no more: a client then connects to the new one
            if (previous) return void this.#retire(previous).then(() => resolve(message));
          }
          resolve(message);
        } else if (message?.type === 'readiness' && slot.current === worker) {
          slot.broken = !message.ready;
        } else if (message?.type === 'replace-me' && slot.current === worker && !slot.starting && !this.#stopping) {
          this.#log.warn({ process: slot.index, pid: worker.process.pid, reason: message.reason }, 'replacing a server process');
          this.#replaced.stuck++;
          void this.#spawn(slot);
        }
      });
      worker.on('exit', (code, signal) => {
        netAddon().Gate.markGone(this.#boardFd, place);
        this.#boardSlots.delete(worker);
        this.#reports.gone(worker);
        resolve(null);
        this.#exited(slot, worker, code, signal);
      });
    });
  }

  #exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.#retiring.delete(worker) || this.#stopping) return;
    if (!this.#started) {
      // startup stops with the reason the process printed: nothing to replace
      this.#log.error({ process: slot.index, pid: worker.process.pid, signal, code }, 'server process exited before it was ready');
      return;
    }
    const wasServing = slot.current === worker;
    if (!wasServing && slot.starting !== worker) return;
    if (wasServing) slot.current = null;
    else slot.starting = null;
    this.#replaced.crash++;
    slot.crashes = Date.now() - slot.startedAt < STABLE_MS ? slot.crashes + 1 : 1;
    const delay = slot.crashes > 1 ? Math.min(100 * 2 ** (slot.crashes - 2), BACKOFF_MAX_MS) : 0;
    this.#log.error({ process: slot.index, pid: worker.process.pid, signal, code, restartInMs: delay },
      signal ? `server process killed by ${signal}: replacing it` : `server process exited with code ${code}: replacing it`);
    if (slot.starting) return; // a replacement is already on its way
    // not unref'd: with no process alive, this timer is what keeps the supervisor running
    setTimeout(() => {
      if (!this.#stopping && !slot.current && !slot.starting) void this.#spawn(slot);
    }, delay);
  }

  /**
   * SIGTERM to `worker`: it drains and exits; killed if it does not within its time. Resolves once
   * it accepts no more connections (it says so, or it is gone).
   */
  #retire(worker: Worker): Promise<void> {
    this.#retiring.add(worker);
    worker.process.kill('SIGTERM');
    const kill = setTimeout(() => worker.process.kill('SIGKILL'), this.#config.drainTimeout + EXIT_GRACE_MS);
    kill.unref();
    worker.once('exit', () => clearTimeout(kill));
    return new Promise((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (raw) => {
        if (received<ProcessMessage>(raw)?.type === 'draining') resolve();
      });
    });
  }

  #workers(): Worker[] {
    return this.#slots.flatMap((s) => [s.current, s.starting]).filter((w): w is Worker => w !== null).concat([...this.#retiring]);
  }

  /** Worker mode: every process restarts its worker scripts, a thread at a time. */
  restartWorkers(reason: 'reload' | 'watch'): void {
    if (this.#stopping) return;
    if (reason === 'reload') this.#log.info('restarting the worker scripts in every process');
    for (const slot of this.#slots) if (slot.current) tell(slot.current, { type: 'restart-workers', reason });
  }

  /** A rolling replacement: each slot's new process is ready before its old one drains. */
  async reload(signal: string): Promise<void> {
    if (this.#reloading || this.#stopping) return;
    this.#reloading = true;
    this.#log.info({ signal }, 'reloading: replacing the server processes one by one');
    try {
      for (const slot of this.#slots) {
        if (this.#stopping) return;
        this.#replaced.reload++;
        if (slot.starting || !(await this.#spawn(slot))) {
          this.#log.error({ process: slot.index }, 'reload stopped: the new process did not start (the old one goes on)');
          return;
        }
      }
      this.#log.info('reloaded');
    } finally {
      this.#reloading = false;
    }
  }

  async stop(signal: string): Promise<void> {
    if (this.#stopping) {
      this.#log.warn({ signal }, 'second signal: exiting at once');
      for (const w of this.#workers()) w.process.kill('SIGKILL');
      exitAfterLog(1);
    }
    this.#stopping = true;
    this.#watcher?.close();
    this.#log.info({ signal, drainTimeoutMs: this.#config.drainTimeout }, 'shutting down: draining requests in flight');
    const workers = this.#workers();
    const exited = Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      if (!this.#retiring.has(w)) void this.#retire(w);
    })));
    // Once the processes have let go of them too, each address refuses new connections at once,
    // as nginx's do when it quits: a load balancer sends them elsewhere instead of timing out.
    for (const { fd, address } of this.#listening) {
      closeSync(fd);
      removeSocketFile(address); // connecting to it fails at once too
    }
    await exited;
    this.#log.info('stopped');
    exitAfterLog(0);
  }
}

/** What the supervisor logs once every process serves. */
export function servingSummary(config: Config, ready: Ready, runAs: RunAs | null = null): Record<string, unknown> {
  return {
    listen: ready.listening.map(({ name, address }) => `${name === FASTCGI_SOCKET ? 'fastcgi' : config.tlsCert ? 'https' : 'http'}://${formatListenAddress(address)}`),
    internal: config.internal ? `http://${formatListenAddress({ host: config.internal.host, port: ready.internalPort! })}` : 'off',
    documentRoot: config.documentRoot, indexFile: config.indexFile || undefined,
    processes: config.processes, workers: ready.workers, executor: config.executor,
    php: ready.php, zts: ready.zts, opcache: ready.opcache, pid: process.pid, cpus: os.availableParallelism(),
    user: runAs ? `${runAs.user}:${runAs.group}` : currentUser(),
  };
}
