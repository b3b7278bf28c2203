// One HTTP event loop on a worker_thread (see ./http-threads.ts): a TokioServer accepting on the
// process's listening sockets through a gate of its own, submitting to the process's PHP pool
// through an attached engine and admitting against the process's one queue.
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../config/config.js';
import { Engine } from '../engine/engine.js';
import { createLogger, phpLogger, reopenLog } from '../log.js';
import { TokioServer } from '../server/server.js';
import { sharedBrokenView } from '../worker-mode/lifecycle.js';
import type { FromThread, HttpThreadData, ThreadFigures, ToThread } from './messages.js';

const data = workerData as HttpThreadData;
const port = parentPort!;
const tell = (m: FromThread) => port.postMessage(m);

const config = { ...loadConfig(process.env, data.argv), workers: data.workers, queueCapacity: data.queueCapacity };
const log = createLogger(config.logLevel, config.logFile, { process: data.process, thread: data.index }, config.logFormat);
let server: TokioServer | undefined; // PHP may log before the server exists
const engine = config.executor === 'stub' ? null : await Engine.attach(data.index, phpLogger(log, (id) => server?.traceOf(id) ?? ''));
server = new TokioServer(config, engine, log, {
  workerScripts: data.brokenScripts && sharedBrokenView(data.brokenScripts),
  rateTableFd: data.rateTableFd,
  admissionCounts: data.admissionCounts,
  onStuck: (requestId, all) => tell({ type: 'stuck', requestId, all }),
});
const serving = server;
serving.listen(data.shared);

function figures(): ThreadFigures {
  return { families: [...serving.metrics.families(), ...serving.metrics.gauges(data.process)] };
}

port.on('message', (m: ToThread) => {
  if (m.type === 'collect') tell({ type: 'figures', id: m.id, figures: figures() });
  else if (m.type === 'reopen-log') reopenLog();
  else if (m.type === 'refuse-while-stuck') serving.refuseWhileStuck();
  else {
    void (async () => {
      const drained = await serving.close(m.drainTimeout);
      await engine?.shutdown();
      tell({ type: 'closed', drained, figures: figures() });
    })();
  }
});
tell({ type: 'ready' });
