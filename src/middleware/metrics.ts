// Counts every response for /metrics: plain numbers on the hot path (src/metrics/recorder.ts).
import type { Recorder } from '../metrics/recorder.js';
import type { Middleware } from './chain.js';

export function metrics(recorder: Recorder): Middleware {
  return {
    name: 'metrics',
    priority: 0, // last on the response: counts what the client got
    onResponse(ctx, done) {
      recorder.request(ctx.head.method, done.status, ctx.upstream, done.durationMs, done.bytes);
      if (ctx.upstream === 'php' && ctx.requestId) recorder.php(ctx.queueMs, ctx.execMs, ctx.worker >= 0);
    },
  };
}
