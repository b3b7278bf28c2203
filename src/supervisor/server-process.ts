// One server process: its share of the PHP threads, serving on the listening sockets the
// supervisor shares with every process. SIGTERM drains it; a script stuck in C past its timeout
// makes it ask the supervisor for a replacement (its thread is only freed with the process).
import type { Config } from '../config/config.js';
import { Engine, type PoolManager } from '../engine/engine.js';
import { nativeAddon } from '../native/addon.js';
import { HttpThreads } from '../http-threads/http-threads.js';
import { exitAfterLog, logOpened, logSlowRequest, phpLogger, reopenLog, type Logger } from '../log.js';
import { stopAcceptingInProcess } from '../http/listener.js';
import type { SharedSockets } from '../transport/sockets.js';
import { ProcessMetrics } from '../metrics/process-metrics.js';
import { Admission } from '../queue/admission.js';
import { TokioServer } from '../server/server.js';
import { WorkerScripts } from '../worker-mode/lifecycle.js';
import { received, send, type SupervisorMessage } from './messages.js';
import { dropPrivileges, RUN_AS_ENV, type RunAs } from './privileges.js';

/** `total` shared out among `parts`: the first ones get one more when it does not divide. */
export function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/** PM's counts for one process: its share, at least 1, so that no dynamic pool is left without a spare. */
export function sharePm(pm: PoolManager, parts: number, index: number): PoolManager {
  if (pm.mode !== 'dynamic') return pm;
  const mine = (n: number) => Math.max(1, share(n, parts, index));
  return { mode: pm.mode, startWorkers: mine(pm.startWorkers), minSpare: mine(pm.minSpare), maxSpare: mine(pm.maxSpare) };
}

// How long engine.shutdown() may wait for PHP's threads: one stuck in C never returns.
const SHUTDOWN_WAIT_MS = 5_000;

/** `handed`: what the supervisor handed over (./handover.ts) */
export async function runServerProcess(config: Config, log: Logger, index: number,
  handed: { shared: SharedSockets; rateTableFd?: number }, runAs: RunAs | null = null): Promise<void> {
  const { shared, rateTableFd } = handed;
  if (runAs) {
    // Started as root: give it up for good before PHP starts (its module startup, worker scripts,
    // every request) and before the HTTP threads start. The sockets came open from the supervisor.
    // OPcache's .so and the log file are opened first: root's home may hold the PHP build.
    const why = config.executor === 'stub' ? null : nativeAddon().preloadOpcache();
    if (why) log.debug({ why }, 'OPcache not preloaded');
    await logOpened();
    dropPrivileges(runAs);
    delete process.env[RUN_AS_ENV];
  }
  // worker mode: each worker script's threads, and classic scripts the rest (at least one)
  const scripts = config.workerScripts;
  const scriptThreads = scripts.length ? share(config.workerThreads, config.processes, index) : 0;
  const classic = scripts.length
    ? Math.max(1, share(Math.max(0, config.workers - config.workerThreads), config.processes, index))
    : share(config.workers, config.processes, index);
  const mine = {
    ...config,
    workers: classic + scriptThreads * scripts.length,
    queueCapacity: share(config.queueCapacity, config.processes, index),
  };
  const lifecycle = scripts.length
    ? new WorkerScripts(config, scriptThreads, log, (ready) => void send({ type: 'readiness', ready }))
    : undefined;
  let server: TokioServer | undefined; // PHP may log before the server exists: startup warnings
  const engine = config.executor === 'stub' ? null : await Engine.start({
    workers: classic,
    pm: sharePm(config.pm, config.processes, index),
    workerScripts: scripts.map((w) => ({
      filename: w.filename, name: w.name, documentRoot: config.documentRoot, threads: scriptThreads,
      maxRequests: config.workerMaxRequests, maxMemory: config.workerMaxMemory, maxFailures: config.workerMaxFailures,
    })),
    onWorkerScript: (event) => lifecycle?.event(event),
    process: index,
    maxRequests: config.maxRequests,
    iniPath: config.phpIniPath,
    executor: config.executor,
    executionTimeClock: config.executionTimeClock,
    logger: phpLogger(log, (id) => server?.traceOf(id) ?? ''),
    slowlogTimeout: config.slowlogTimeout,
    onSlowRequest: (slow) => {
      if (server) server.metrics.slowRequests++;
      logSlowRequest(log, slow, server?.traceOf(slow.requestId) ?? '');
    },
  });
  let threads: HttpThreads | null = null;
  if (lifecycle) lifecycle.serving = true;
  const onStuck = (requestId: string, all: boolean) => {
    if (all) {
      // every loop at once, before the line: no loop takes a connection the replacement could serve
      stopAcceptingInProcess();
      server?.refuseWhileStuck();
      threads?.refuseWhileStuck();
    }
    log.error({ requestId }, 'a script is stuck past its timeout (in C code PHP cannot interrupt): replacing this process');
    void send({ type: 'replace-me', reason: 'stuck script' });
  };
  // the event loops share the queue's counts: one bound, one queue, whichever loop admits
  const admissionCounts = Admission.sharedCounts();
  server = new TokioServer(mine, engine, log, { workerScripts: lifecycle, rateTableFd, admissionCounts, onStuck });
  server.listen(shared);
  threads = config.httpThreads > 1 && config.listen.length ? await HttpThreads.start(config.httpThreads - 1, {
    process: index, argv: process.argv.slice(2), workers: mine.workers, queueCapacity: mine.queueCapacity, shared, rateTableFd, admissionCounts,
    brokenScripts: lifecycle?.brokenFlags,
  }, log, onStuck, () => exitAfterLog(1)) : null;
  if (engine && !engine.info.opcache) log.warn('OPcache is off: PHP compiles every script on every request');
  if (engine && !engine.info.umaskPerThread && mine.workers > 1) {
    log.warn('the PHP threads of this process share one umask: unshare(CLONE_FS) was refused (a seccomp profile, such as '
      + "Docker's default); a script's umask() changes the files other requests create. Avoid umask() in scripts, set "
      + 'PROCESSES equal to PHP_WORKERS, or allow unshare in the seccomp profile');
  }
  const metrics = config.internal ? new ProcessMetrics(index, server, engine, lifecycle, threads) : null;
  process.on('message', (raw) => {
    const m = received<SupervisorMessage>(raw);
    if (m?.type === 'collect' && metrics) void metrics.report(m.metrics, m.full).then((report) => send({ type: 'report', id: m.id, report }));
    if (m?.type === 'restart-workers' && engine) {
      const n = engine.restartWorkerScripts(m.reason);
      log.info({ reason: m.reason, threads: n }, 'restarting the worker scripts, a thread at a time');
    }
  });
  void send({ type: 'ready', workers: mine.workers, php: engine?.info.phpVersion, zts: engine?.info.zts, opcache: engine?.info.opcache });

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    // every loop at once, before the line a load balancer's health check may follow
    stopAcceptingInProcess();
    void send({ type: 'draining' });
    void (async () => {
      log.info({ drainTimeoutMs: config.drainTimeout }, 'shutting down: draining requests in flight');
      const [drained, threadsDrained] = await Promise.all([server.close(config.drainTimeout), threads?.close(config.drainTimeout) ?? true]);
      if (!drained || !threadsDrained) log.warn('drain timeout: stopping with requests still in flight');
      // the last figures: what this process counted stays in the supervisor's sums
      if (metrics) await send({ type: 'report', id: -1, report: await metrics.report() });
      const stopped = engine && await Promise.race([
        engine.shutdown().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_WAIT_MS).unref()),
      ]);
      if (engine && !stopped) log.warn('a PHP thread did not stop: exiting without it');
      log.info('stopped');
      exitAfterLog(0);
    })();
  });
  process.on('SIGINT', () => {}); // a terminal's Ctrl-C reaches the whole group: the supervisor decides
  process.on('SIGUSR1', () => {
    reopenLog();
    threads?.reopenLog();
  });
}
