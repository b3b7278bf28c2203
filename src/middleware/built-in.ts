// The middleware the configuration turns on, each in its own file. Their priorities set the
// order: real-ip 1, access-log 10, rate-limit 20, compression 50, static-cache 60, error-pages 70;
// metrics 0 (last on the response: it counts what the client got).
import type { Config } from '../config/config.js';
import { netAddon } from '../native/addon.js';
import type { Logger } from '../log.js';
import type { Recorder } from '../metrics/recorder.js';
import { accessLog } from './access-log.js';
import type { Middleware } from './chain.js';
import { realIp } from './client-address.js';
import { compression } from './compression.js';
import { errorPages, loadErrorPages } from './error-pages.js';
import { metrics } from './metrics.js';
import { rateLimit } from './rate-limit.js';
import { staticCache } from './static-cache.js';

/** `rateTableFd`: RATE_LIMIT's table shared with sibling processes (default: a table of its own). */
export function builtInMiddleware(config: Config, log: Logger, recorder: Recorder, rateTableFd?: number): Middleware[] {
  const { RateTable } = netAddon();
  return [
    ...config.trustedProxies ? [realIp(config.trustedProxies)] : [],
    ...config.rateLimit ? [rateLimit(new RateTable(rateTableFd ?? RateTable.create()), config.rateLimit, recorder)] : [],
    ...config.internal ? [metrics(recorder)] : [],
    ...config.accessLog ? [accessLog(log)] : [],
    ...config.staticCache ? [staticCache(config.staticCache)] : [],
    ...config.errorPagesDir ? [errorPages(loadErrorPages(config.errorPagesDir))] : [],
    ...config.compression.length ? [compression(config.compression)] : [],
  ];
}
