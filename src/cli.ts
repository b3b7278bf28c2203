#!/usr/bin/env node
// `tokio-php` / `npm start`: read the configuration, start PHP, serve, drain on SIGTERM/SIGINT.
import { ConfigError, HELP, loadConfig } from './config/config.js';
import { Engine } from './engine/engine.js';
import { createLogger } from './log.js';
import { VERSION } from './package.js';
import { TokioServer } from './server/server.js';


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
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tokio-php: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const phpLog = log.child({ source: 'php' });
  const engine = config.executor === 'stub' ? null : await Engine.start({
    workers: config.workers,
    iniPath: config.phpIniPath,
    executor: config.executor,
    executionTimeClock: config.executionTimeClock,
    logger: ({ level, message, requestId }) => {
      const fn = level <= 3 ? phpLog.error : level === 4 ? phpLog.warn : phpLog.info;
      fn.call(phpLog, { requestId }, message);
    },
  });
  const server = new TokioServer(config, engine, log);
  const port = await server.listen();
  log.info({
    listen: `${config.tlsCert ? 'https' : 'http'}://${config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost}:${port}`,
    documentRoot: config.documentRoot, indexFile: config.indexFile || undefined, workers: config.workers,
    executor: config.executor, php: engine?.info.phpVersion, zts: engine?.info.zts, opcache: engine?.info.opcache,
  }, 'tokio-php is serving');
  if (engine && !engine.info.opcache) log.warn('OPcache is off: PHP compiles every script on every request');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainTimeoutMs: config.drainTimeout }, 'shutting down: draining requests in flight');
    const drained = await server.close(config.drainTimeout);
    if (!drained) log.warn('drain timeout: stopping with requests still in flight');
    await engine?.shutdown();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`tokio-php: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
