// Accepting connections and turning requests into (RequestHead, Exchange) pairs.
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Exchange, RequestHead } from './exchange.js';
import { UwsExchange } from './uws-exchange.js';
import uws, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';

export type RequestHandler = (head: RequestHead, ex: Exchange) => void;

export class Listener {
  readonly #config: Config;
  readonly #app: TemplatedApp;
  #socket: us_listen_socket | null = null;
  #port = 0;

  constructor(config: Config, _log: Logger, handler: RequestHandler) {
    this.#config = config;
    this.#app = config.tlsCert && config.tlsKey
      ? uws.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey })
      : uws.App();
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
        protocol: 'HTTP/1.1', // uWS serves nothing else
      }, ex);
    });
  }

  get port(): number {
    return this.#port;
  }

  listen(): Promise<number> {
    const { listenHost, listenPort } = this.#config;
    return new Promise((resolve, reject) => {
      this.#app.listen(listenHost, listenPort, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${listenHost}:${listenPort} (address in use or not allowed)`));
          return;
        }
        this.#socket = socket;
        this.#port = uws.us_socket_local_port(socket);
        resolve(this.#port);
      });
    });
  }

  stopAccepting(): void {
    if (this.#socket) uws.us_listen_socket_close(this.#socket);
    this.#socket = null;
  }

  close(): void {
    this.stopAccepting();
    this.#app.close();
  }
}
