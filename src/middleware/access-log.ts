// ACCESS_LOG=on: one JSON line per request once the response is over, in pino's line format and
// on pino's asynchronous destination (the same stream as every other log line, written off the
// event loop). The line is built by hand: serializing an object per request through pino's
// generic path cost a quarter of the static-file throughput. Lines are batched before they go to
// the stream: sonic-boom measures the string it appends to on every write, which costs
// microseconds a line under load. Written whatever LOG_LEVEL is, as nginx's
// access_log is apart from its error_log level.
import { symbols } from 'pino';
import { holdsLogLines, type Logger } from '../log.js';
import type { Middleware } from './chain.js';

const str = JSON.stringify;
// lines go out together, after at most BATCH_MS or once BATCH_BYTES are waiting: each write is a
// system call on the thread pool, dearer than the line
const BATCH_MS = 20;
const BATCH_BYTES = 64 * 1024;

export function accessLog(log: Logger): Middleware {
  const access = log.child({ source: 'access' });
  const bindings = (access as unknown as Record<symbol, string>)[symbols.chindingsSym];
  const stream = (access as unknown as Record<symbol, { write(line: string): void }>)[symbols.streamSym];
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const lines = pending;
    pending = '';
    if (lines) stream.write(lines);
  };
  holdsLogLines(flush);
  return {
    name: 'access-log',
    priority: 10, // sees the response as it left, after every other middleware changed it
    onResponse(ctx, done) {
      const { head } = ctx;
      if (pending.length > BATCH_BYTES) flush();
      else if (!timer) timer = setTimeout(flush, BATCH_MS);
      // method, addresses and ids are validated on the way in: nothing in them needs escaping
      pending += `{"level":30,"time":${Date.now()}${bindings},"method":"${head.method}","path":${str(head.url)},"query":${str(head.query)}`
        + `,"protocol":"${head.protocol}","status":${done.status},"bytes":${done.bytes},"duration_ms":${Math.round(done.durationMs * 1000) / 1000}`
        + `,"upstream":"${ctx.upstream}","worker":${ctx.worker},"remote_addr":"${ctx.clientAddr}"`
        + `,"user_agent":${str(ctx.header('user-agent'))},"referer":${str(ctx.header('referer'))}`
        + `,"request_id":"${ctx.requestId}","trace_id":"${ctx.traceId}","msg":"request"}\n`;
    },
  };
}
