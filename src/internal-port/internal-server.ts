// The internal port (INTERNAL_ADDR, never the public one), served by the supervisor so that one
// scrape sees every server process: /health (liveness), /ready (readiness), /metrics
// (Prometheus, counters summed over the processes, gauges labelled by process) and /status
// (php-fpm's status page) read, open to whoever reaches the address; POST /workers/restart
// changes state, and needs ADMIN_TOKEN as a bearer token, or without one a loopback client.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import client from 'prom-client';
import type { Logger } from '../log.js';
import type { ProcessReport } from '../metrics/process-metrics.js';
import type { MetricFamily } from '../metrics/recorder.js';
import { fpmProcesses, fpmStatus, fpmStatusHtml, fpmStatusText, type PoolMaxima } from './status.js';

export interface InternalSource {
  /** liveness facts: version, PHP, processes, workers */
  health(): Record<string, unknown>;
  /** PHP is up in at least one process, and the server is not draining */
  ready(): boolean;
  /**
   * Every live process's report, the counters of processes that are gone, the supervisor's own;
   * `metrics` false: the processes' status figures are enough (/status); `full`: with each PHP
   * thread's (/status?full)
   */
  collect(metrics: boolean, full?: boolean): Promise<{ reports: ProcessReport[]; retired: MetricFamily[]; own: MetricFamily[] }>;
  /** the most PHP requests running and waiting at once in all the processes together, if known */
  poolMaxima?: () => PoolMaxima | null;
  /** worker mode: restart the worker scripts in every process (POST /workers/restart) */
  restartWorkers?: () => void;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

/** 127.0.0.0/8, ::1, and IPv4 loopback as an IPv4-mapped IPv6 address (::ffff:127.x.y.z). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(address);
  if (v4) return v4[1] === '127';
  return address === '::1'; // as Node writes it
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export class InternalServer {
  readonly #server: Server;
  readonly #startedAt = new Date();
  /** ADMIN_TOKEN's digest: compared in constant time, whatever the length sent */
  readonly #tokenDigest: Buffer | null;

  /** `adminToken`: what POST /workers/restart requires as a bearer token; null: loopback clients only */
  constructor(readonly source: InternalSource, readonly log: Logger, adminToken: string | null = null) {
    this.#tokenDigest = adminToken === null ? null : sha256(adminToken);
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((err) => {
        log.error({ err, url: req.url }, 'internal port: answering failed');
        if (!res.headersSent) reply(res, 500, TEXT, 'internal error\n');
      });
    });
  }

  /** Resolves with the bound port; rejects naming INTERNAL_ADDR when the address cannot be had. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`INTERNAL_ADDR ${host}:${port} cannot be listened on (${err.code ?? err.message}): choose another HOST:PORT, or off`));
      });
      this.#server.listen(port, host, () => {
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): void {
    this.#server.close();
    this.#server.closeAllConnections();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://internal');
    if (url.pathname === '/workers/restart') {
      // FrankenPHP's POST /frankenphp/workers/restart
      if (!this.source.restartWorkers) return reply(res, 404, TEXT, 'not found: /workers/restart is there in worker mode (WORKER_SCRIPT)\n');
      if (req.method !== 'POST') return reply(res, 405, TEXT, 'only POST\n', ['Allow', 'POST']);
      if (!this.#mayChange(req, res)) return;
      this.source.restartWorkers();
      return reply(res, 202, JSON_TYPE, JSON.stringify({ restarting: true }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, TEXT, 'only GET and HEAD\n', ['Allow', 'GET, HEAD']);
    switch (url.pathname) {
      case '/health':
        return reply(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok', ...this.source.health() }));
      case '/ready': {
        const ready = this.source.ready();
        return reply(res, ready ? 200 : 503, JSON_TYPE, JSON.stringify({ ready }));
      }
      case '/metrics': {
        const { reports, retired, own } = await this.source.collect(true);
        const registry = client.AggregatorRegistry.aggregate([...reports.map((r) => r.families), retired, own] as never);
        return reply(res, 200, registry.contentType, await registry.metrics());
      }
      case '/status': {
        // php-fpm's query: ?json, ?html, ?full, ?full&json, ...
        const full = url.searchParams.has('full');
        const json = url.searchParams.has('json');
        const { reports } = await this.source.collect(false, full);
        const statuses = reports.map((r) => r.status);
        const status = fpmStatus(statuses, this.#startedAt, this.source.poolMaxima?.() ?? null);
        const processes = full ? fpmProcesses(statuses, json) : [];
        if (url.searchParams.has('html')) return reply(res, 200, 'text/html; charset=utf-8', fpmStatusHtml(status, full ? processes : null));
        return json
          ? reply(res, 200, JSON_TYPE, JSON.stringify(full ? { ...status, processes } : status))
          : reply(res, 200, TEXT, fpmStatusText(status, processes));
      }
      default:
        return reply(res, 404, TEXT, `not found: /health, /ready, /metrics, /status${this.source.restartWorkers ? ', POST /workers/restart' : ''}\n`);
    }
  }

  /**
   * May this request change state? With ADMIN_TOKEN, when it carries the token (else 401); without,
   * when it comes from this machine's loopback (else 403). Answers the refusal itself.
   */
  #mayChange(req: IncomingMessage, res: ServerResponse): boolean {
    const remote = req.socket.remoteAddress;
    if (this.#tokenDigest) {
      const sent = /^Bearer +([^ ]+) *$/i.exec(req.headers.authorization ?? '')?.[1];
      if (sent !== undefined && timingSafeEqual(sha256(sent), this.#tokenDigest)) return true;
      this.log.warn({ remote, path: req.url }, `internal port: ${sent === undefined ? 'no' : 'a wrong'} bearer token: 401`);
      reply(res, 401, TEXT, 'unauthorized: send Authorization: Bearer <ADMIN_TOKEN>\n',
        ['WWW-Authenticate', sent === undefined ? 'Bearer realm="tokio-php"' : 'Bearer realm="tokio-php", error="invalid_token"']);
      return false;
    }
    if (isLoopback(remote)) return true;
    this.log.warn({ remote, path: req.url }, 'internal port: a state-changing request from beyond loopback without ADMIN_TOKEN set: 403');
    reply(res, 403, TEXT, 'forbidden: without ADMIN_TOKEN, this answers clients on this machine\'s loopback only\n');
    return false;
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string, extra: string[] = []): void {
  res.writeHead(status, ['Content-Type', type, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store', ...extra]);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
