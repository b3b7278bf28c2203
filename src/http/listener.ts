// Accepting connections and turning requests into (RequestHead, Exchange) pairs.
//
// Plain HTTP goes through the native gate, which peeks at each connection's first request:
// well-formed HTTP/1.1 is adopted by uWebSockets.js (the fast path); HTTP/1.0, malformed
// requests, a missing Host and requests pipelined from the start go to Node's http, which
// answers them as nginx would. TLS connections cannot be peeked at and go to uWS directly.
import { closeSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Config } from '../config/config.js';
import { nativeAddon, type NativeGate } from '../engine/native.js';
import type { Logger } from '../log.js';
import type { Exchange, RequestHead } from './exchange.js';
import { NodeExchange } from './node-exchange.js';
import { UwsExchange } from './uws-exchange.js';
import uws, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';

export type RequestHandler = (head: RequestHead, ex: Exchange) => void;

export class Listener {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #app: TemplatedApp;
  readonly #node: Server;
  #gate: NativeGate | null = null;
  #socket: us_listen_socket | null = null;
  #port = 0;
  #accepting = false;

  constructor(config: Config, log: Logger, handler: RequestHandler) {
    this.#config = config;
    this.#log = log;
    this.#app = (config.tlsCert && config.tlsKey
      ? uws.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey })
      : uws.App()) as TemplatedApp;
    this.#app.any('/*', (res: HttpResponse, req: HttpRequest) => {
      const ex = new UwsExchange(res, req.getCaseSensitiveMethod());
      const headers: string[] = [];
      req.forEach((name, value) => {
        headers.push(name, value);
      });
      handler({
        method: ex.method,
        url: req.getUrl(),
        query: req.getQuery() ?? '',
        headers,
        remoteAddr: Buffer.from(res.getRemoteAddressAsText()).toString(),
        protocol: 'HTTP/1.1', // the gate sends uWS nothing else
      }, ex);
    });
    this.#node = createServer({ maxHeaderSize: 16 * 1024, requireHostHeader: true, keepAliveTimeout: 10_000 },
      (req: IncomingMessage, res: ServerResponse) => {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const headers: string[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]);
        handler({
          method: req.method ?? 'GET',
          url: q < 0 ? url : url.slice(0, q),
          query: q < 0 ? '' : url.slice(q + 1),
          headers,
          remoteAddr: req.socket.remoteAddress ?? '',
          remotePort: req.socket.remotePort,
          protocol: `HTTP/${req.httpVersion}`,
        }, new NodeExchange(req, res));
      });
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<number> {
    const { listenHost, listenPort, tlsCert } = this.#config;
    this.#accepting = true;
    if (tlsCert) return this.#listenUws(listenHost, listenPort);
    this.#gate = new (nativeAddon().Gate)((fd, verdict) => this.#adopt(fd, verdict));
    this.#port = this.#gate.listen(listenHost, listenPort, this.#config.headerTimeout);
    return this.#port;
  }

  #adopt(fd: number, verdict: 'uws' | 'node'): void {
    if (!this.#accepting) {
      closeSync(fd);
      return;
    }
    if (verdict === 'uws') {
      this.#app.adoptSocket(fd);
      return;
    }
    const socket = new Socket({ fd, readable: true, writable: true });
    socket.on('error', (err) => this.#log.debug({ err }, 'connection error'));
    this.#node.emit('connection', socket);
  }

  #listenUws(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port} (address in use or not allowed)`));
          return;
        }
        this.#socket = socket;
        this.#port = uws.us_socket_local_port(socket);
        resolve(this.#port);
      });
    });
  }

  stopAccepting(): void {
    this.#accepting = false;
    this.#gate?.close();
    this.#gate = null;
    if (this.#socket) uws.us_listen_socket_close(this.#socket);
    this.#socket = null;
  }

  close(): void {
    this.stopAccepting();
    this.#app.close();
    this.#node.closeAllConnections();
  }
}
