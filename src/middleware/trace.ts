// W3C trace context and request ids: a traceparent is continued with a new span (tracestate
// passed on), X-Request-ID is echoed or made; PHP sees both in $_SERVER, responses carry both.
import { randomFillSync } from 'node:crypto';
import { sameHeaderName } from '../http/exchange.js';

export interface TraceContext {
  traceId: string;
  spanId: string;
  /** '' when the request started the trace */
  parentSpanId: string;
  flags: string;
  tracestate: string;
  requestId: string;
}

// Random ids from a pool refilled 4 KiB at a time: no syscall per request.
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;
const REQUEST_ID = /^[\w.:@+=/-]{1,200}$/;

/** `header(name)` gives a request header's value, '' when absent. */
export function traceContext(header: (name: string) => string, makeRequestId: () => string): TraceContext {
  const m = TRACEPARENT.exec(header('traceparent').trim().toLowerCase());
  const valid = m !== null && m[1] !== 'ff' && !ZEROS.test(m[2]) && !ZEROS.test(m[3]) && (m[1] !== '00' || !m[5]);
  const incomingId = header('x-request-id').trim();
  return {
    traceId: valid ? m[2] : randomHex(16),
    spanId: randomHex(8),
    parentSpanId: valid ? m[3] : '',
    flags: valid ? m[4] : '01',
    tracestate: valid ? header('tracestate') : '',
    requestId: REQUEST_ID.test(incomingId) ? incomingId : makeRequestId(),
  };
}

/** Headers a response carries for its trace. */
export function traceHeaders(t: TraceContext): string[] {
  const out = ['traceparent', `00-${t.traceId}-${t.spanId}-${t.flags}`, 'X-Request-ID', t.requestId];
  if (t.tracestate) out.push('tracestate', t.tracestate);
  return out;
}

/**
 * Appends the trace headers to a PHP response's own (in place): a header the script set itself
 * (MediaWiki sends its own X-Request-ID) wins, so no name goes out with two values.
 */
export function addTraceHeaders(headers: string[], traced: readonly string[]): string[] {
  const own = headers.length;
  outer: for (let t = 0; t < traced.length; t += 2) {
    for (let i = 0; i < own; i += 2) if (sameHeaderName(headers[i], traced[t])) continue outer;
    headers.push(traced[t], traced[t + 1]);
  }
  return headers;
}

/** $_SERVER entries for the trace. */
export function traceServerVars(t: TraceContext): Record<string, string> {
  return { TRACE_ID: t.traceId, SPAN_ID: t.spanId, PARENT_SPAN_ID: t.parentSpanId };
}
