// A server process's metrics: plain numbers on the hot path, turned into metric families (the
// JSON form prom-client's registries exchange) only when Prometheus scrapes. The supervisor sums
// the families of every process into one exposition (src/internal-port/).
import type { Upstream } from '../transport/request-context.js';

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** how the supervisor merges the processes' values: 'sum' for counters and shared gauges */
  aggregator: 'sum' | 'max' | 'omit';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export const PREFIX = 'tokio_php_';

// seconds: from a cached hello world to a minute-long report
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

class Histogram {
  readonly counts = new Float64Array(BUCKETS.length + 1); // per bucket; the last is +Inf
  sum = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
  }

  values(labels: Record<string, string | number>, name: string): MetricFamily['values'] {
    const out: MetricFamily['values'] = [];
    let cumulative = 0;
    for (let i = 0; i <= BUCKETS.length; i++) {
      cumulative += this.counts[i];
      out.push({ value: cumulative, labels: { ...labels, le: i < BUCKETS.length ? BUCKETS[i] : '+Inf' }, metricName: `${name}_bucket` });
    }
    out.push({ value: this.sum, labels, metricName: `${name}_sum` }, { value: cumulative, labels, metricName: `${name}_count` });
    return out;
  }
}

const UPSTREAMS: readonly Upstream[] = ['static', 'php', 'server'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'other'];
const STATUSES = 600;

export type Rejection = 'queue_full' | 'wait_timeout' | 'client_gone';

export class Recorder {
  // by (upstream, method, status): a flat array, no key strings per request
  readonly #requests = new Float64Array(UPSTREAMS.length * METHODS.length * STATUSES);
  readonly #durations = UPSTREAMS.map(() => new Histogram());
  readonly #execution = new Histogram();
  readonly #queueWait = new Histogram();
  #bytesSent = 0;
  readonly rejected: Record<Rejection, number> = { queue_full: 0, wait_timeout: 0, client_gone: 0 };
  timeouts = 0;
  slowRequests = 0;
  rateLimited = 0;
  sseStreams = 0;

  /** A response is over. */
  request(method: string, status: number, upstream: Upstream, durationMs: number, bytes: number): void {
    let m = METHODS.indexOf(method);
    if (m < 0) m = METHODS.length - 1;
    const u = UPSTREAMS.indexOf(upstream);
    this.#requests[(u * METHODS.length + m) * STATUSES + (status > 0 && status < STATUSES ? status : 0)]++;
    this.#durations[u].observe(durationMs / 1000);
    this.#bytesSent += bytes;
  }

  /** A PHP request ran (or waited and was dropped): where its time went. */
  php(queueMs: number, execMs: number, ran: boolean): void {
    this.#queueWait.observe(queueMs / 1000);
    if (ran) this.#execution.observe(execMs / 1000);
  }

  /** What the counters say now, as metric families. */
  families(): MetricFamily[] {
    const requests: MetricFamily['values'] = [];
    for (let i = 0; i < this.#requests.length; i++) {
      if (!this.#requests[i]) continue;
      const status = i % STATUSES;
      const rest = (i - status) / STATUSES;
      requests.push({
        value: this.#requests[i],
        labels: { method: METHODS[rest % METHODS.length], status: status || 'other', upstream: UPSTREAMS[Math.floor(rest / METHODS.length)] },
      });
    }
    const duration = `${PREFIX}request_duration_seconds`;
    const execution = `${PREFIX}php_execution_seconds`;
    const queueWait = `${PREFIX}queue_wait_seconds`;
    return [
      counter('requests_total', 'Requests answered, by method, status and what answered them (static, php, server).', requests),
      { name: duration, help: 'Time from the request head to the last byte of the response.', type: 'histogram', aggregator: 'sum',
        values: UPSTREAMS.flatMap((upstream, i) => this.#durations[i].values({ upstream }, duration)) },
      { name: execution, help: 'Time PHP scripts ran on a worker thread.', type: 'histogram', aggregator: 'sum', values: this.#execution.values({}, execution) },
      { name: queueWait, help: 'Time PHP requests waited for a worker thread.', type: 'histogram', aggregator: 'sum', values: this.#queueWait.values({}, queueWait) },
      counter('rejected_total', 'PHP requests that never ran, by reason: queue_full (503, QUEUE_CAPACITY reached), wait_timeout (503, waited past QUEUE_TIMEOUT), client_gone (the client left while they waited; no answer).',
        (Object.keys(this.rejected) as Rejection[]).map((reason) => ({ value: this.rejected[reason], labels: { reason } }))),
      counter('timeouts_total', 'PHP scripts stopped for running too long: past REQUEST_TIMEOUT (504, or the stream cut when it had started), SSE_TIMEOUT, or a tokio_request_heartbeat() that was not renewed.', [{ value: this.timeouts, labels: {} }]),
      counter('slow_requests_total', 'PHP requests still running past SLOWLOG_TIMEOUT, each logged once with its PHP backtrace.', [{ value: this.slowRequests, labels: {} }]),
      counter('rate_limited_total', 'Requests refused by RATE_LIMIT (429).', [{ value: this.rateLimited, labels: {} }]),
      counter('sent_bytes_total', 'Response body bytes handed to the sockets.', [{ value: this.#bytesSent, labels: {} }]),
    ];
  }

  /** Gauges of this moment, labelled with the process. */
  gauges(process: number): MetricFamily[] {
    return [gauge('sse_streams', 'Event streams open.', [{ value: this.sseStreams, labels: { process } }])];
  }
}

export function counter(name: string, help: string, values: MetricFamily['values']): MetricFamily {
  return { name: PREFIX + name, help, type: 'counter', aggregator: 'sum', values };
}

export function gauge(name: string, help: string, values: MetricFamily['values']): MetricFamily {
  return { name: PREFIX + name, help, type: 'gauge', aggregator: 'sum', values };
}
