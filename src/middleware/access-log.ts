// ACCESS_LOG=on: one JSON line per request through pino, written off the event loop (pino's
// asynchronous destination), after the response is over.
import type { Logger } from '../log.js';
import type { Middleware } from './chain.js';

export function accessLog(log: Logger): Middleware {
  const access = log.child({ source: 'access' });
  return {
    name: 'access-log',
    priority: 10, // sees the response as it left, after every other middleware changed it
    onResponse(ctx, done) {
      const { head } = ctx;
      access.info({
        method: head.method,
        path: head.url,
        query: head.query,
        protocol: head.protocol,
        status: done.status,
        bytes: done.bytes,
        duration_ms: Math.round(done.durationMs * 1000) / 1000,
        upstream: ctx.upstream,
        worker: ctx.worker,
        remote_addr: ctx.clientAddr,
        user_agent: ctx.header('user-agent'),
        referer: ctx.header('referer'),
        request_id: ctx.requestId,
        trace_id: ctx.traceId,
      });
    },
  };
}
