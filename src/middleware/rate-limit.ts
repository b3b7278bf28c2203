// RATE_LIMIT=100/s: a token bucket per client address (RATE_LIMIT_BURST deep), shared by every
// server process (native/ratelimit/rate_table.cc). Beyond it: 429 with Retry-After; every
// response carries the IETF draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.
import type { NativeRateTable } from '../native/addon.js';
import type { Recorder } from '../metrics/recorder.js';
import type { Middleware } from './chain.js';

export interface RateLimit {
  /** tokens added per second */
  perSecond: number;
  /** the bucket's depth: requests a client may make at once */
  burst: number;
}

export function rateLimit(table: NativeRateTable, limit: RateLimit, recorder: Recorder): Middleware {
  const { perSecond, burst } = limit;
  const quota = String(burst);
  return {
    name: 'rate-limit',
    priority: 20,
    onRequest(ctx) {
      const left = table.take(ctx.clientAddr, perSecond, burst);
      if (left < 0) {
        recorder.rateLimited++;
        ctx.serverMade = true; // ERROR_PAGES_DIR's 429.html may stand in for it
        const wait = String(Math.ceil(-left / 1000));
        return {
          status: 429,
          headers: ['Content-Type', 'text/plain; charset=utf-8', 'Retry-After', wait,
            'RateLimit-Limit', quota, 'RateLimit-Remaining', '0', 'RateLimit-Reset', wait],
          body: '429 Too Many Requests\n',
        };
      }
      ctx.addResponseHeader('RateLimit-Limit', quota);
      ctx.addResponseHeader('RateLimit-Remaining', String(Math.floor(left)));
      ctx.addResponseHeader('RateLimit-Reset', String(Math.ceil((burst - left) / perSecond)));
      return undefined;
    },
  };
}
