#!/usr/bin/env node
// `tokio-php` / `npm start`: read the configuration, then be the supervisor (src/supervisor/),
// or, in a process it started, a server.
import cluster from 'node:cluster';
import { ConfigError, HELP, configWarnings, loadConfig } from './config/config.js';
import { createLogger, exitAfterLog } from './log.js';
import { VERSION } from './package.js';
import { decideRunAs, isNpmStart, prepareLogFile, runAsFromEnv } from './supervisor/privileges.js';
import { handedOver } from './supervisor/handover.js';
import { Supervisor, servingSummary } from './supervisor/supervisor.js';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`tokio-php ${VERSION}\n`);
    return;
  }
  let config;
  let decision;
  try {
    config = loadConfig(process.env, argv);
    // the supervisor decides whom PHP runs as; each server process is told (runAsFromEnv)
    decision = cluster.isWorker ? { runAs: runAsFromEnv() } : decideRunAs(config, isNpmStart());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tokio-php: ${err.message}\n`);
    process.exit(2);
  }
  if (cluster.isWorker) {
    const index = Number(process.env.TOKIO_PROCESS_INDEX ?? 0);
    const log = createLogger(config.logLevel, config.logFile, { process: index }, config.logFormat);
    // loaded here only: the supervisor needs neither uWebSockets.js nor the HTTP stack
    const { runServerProcess } = await import('./supervisor/server-process.js');
    await runServerProcess(config, log, index, handedOver(), decision.runAs);
    return;
  }
  // the supervisor alone serves the internal port: neither the server processes nor PHP's
  // getenv(), $_SERVER or phpinfo() get the token
  delete process.env.ADMIN_TOKEN;
  if (decision.runAs && config.logFile) prepareLogFile(config.logFile, decision.runAs);
  const log = createLogger(config.logLevel, config.logFile, {}, config.logFormat);
  for (const w of configWarnings(config)) log.warn(w.fields, w.msg);
  if (decision.note) log[decision.note.level](decision.note.message);
  const supervisor = new Supervisor(config, log, decision.runAs);
  const ready = await supervisor.start();
  log.info(servingSummary(config, ready, decision.runAs), 'tokio-php is serving');
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`tokio-php: ${err instanceof Error ? err.message : String(err)}\n`);
  exitAfterLog(err instanceof ConfigError ? 2 : 1); // a value the supervisor checks as it starts
});
