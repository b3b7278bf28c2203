// A real tokio-php server on a loopback port, sharing one engine per test file.
import { request as httpRequest, type Agent } from 'node:http';
import { connect } from 'node:net';
import { after, before } from 'node:test';
import { loadConfig, type Config, type ListenAddress } from '../../src/config/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createLogger } from '../../src/log.js';
import { TokioServer, type ServerOptions } from '../../src/server/server.js';

export interface Running {
  base: string;
  port: number;
  /** every address, every transport's (HTTP's first) */
  addresses: ListenAddress[];
  config: Config;
  close(): Promise<void>;
}

export async function startServer(engine: Engine, env: Record<string, string>, options: ServerOptions = {}): Promise<Running> {
  const config = loadConfig({ LISTEN_ADDR: '127.0.0.1:0', PHP_WORKERS: String(engine.info.workers), ...env });
  const server = new TokioServer(config, engine, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), options);
  const addresses = server.listen();
  const port = 'port' in addresses[0] ? addresses[0].port : 0;
  return {
    base: `${config.tlsCert ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    addresses,
    config,
    close: async () => { await server.close(5000); },
  };
}

/** A test file's engine (2 threads) and server on `env`: started before its tests, closed after them, then `cleanup`. */
export function serveForFile(env: Record<string, string>, cleanup?: () => void): { engine: Engine; site: Running } {
  const file = {} as { engine: Engine; site: Running };
  before(async () => {
    file.engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
    file.site = await startServer(file.engine, env);
  });
  after(async () => {
    await file.site.close();
    await file.engine.shutdown();
    cleanup?.();
  });
  return file;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with Node's HTTP client, body collected; `socketPath`: to a Unix socket (the URL gives the path and Host). */
export function get(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: Agent | false; socketPath?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent, socketPath: options.socketPath }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Raw bytes in, raw bytes out: for what HTTP clients refuse to send. Reads until close or `quietMs` of silence. */
export function raw(port: number, bytes: string | Buffer, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    let timer = setTimeout(() => sock.end(), quietMs * 4);
    sock.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => sock.end(), quietMs);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    sock.on('error', reject);
    sock.write(bytes);
  });
}
