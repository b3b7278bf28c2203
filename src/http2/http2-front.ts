// HTTP/2 for the connections the gate finds speaking it: h2c with prior knowledge on the plain
// port (the preface), and over TLS those whose client offers h2 in its ClientHello (ALPN); TLS
// clients that offer only HTTP/1.1 stay on uWS. Node's http2 core API: each stream becomes a
// request for the pipeline, as a request of any other transport.
import { readFileSync } from 'node:fs';
import {
  createSecureServer, createServer, type Http2SecureServer, type Http2Server, type Http2Session, type IncomingHttpHeaders,
  type ServerHttp2Stream, type ServerOptions,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Config } from '../config/config.js';
import type { RequestHead } from '../transport/request-context.js';
import type { Logger } from '../log.js';
import type { RequestHandler } from '../transport/transport.js';
import { Http2Exchange } from './http2-exchange.js';

type Peer = Pick<RequestHead, 'remoteAddr' | 'remotePort' | 'serverAddr' | 'serverPort'>;

// nginx's http2_max_concurrent_streams is 128; its header limit large_client_header_buffers 4 8k
const SETTINGS: ServerOptions = {
  settings: { maxConcurrentStreams: 128, maxHeaderListSize: 32 * 1024, enablePush: false },
  maxHeaderListPairs: 1000,
};
// nginx's keepalive_timeout, which bounds an idle HTTP/2 connection too
const IDLE_MS = 75_000;

const NO_PEER: Peer = { remoteAddr: '', remotePort: 0, serverAddr: '', serverPort: 0 };
const PEER = Symbol('tokio-php peer');
type PeeredSocket = Socket & { [PEER]?: Peer; _parent?: PeeredSocket };

export class Http2Front {
  readonly #config: Config;
  readonly #handler: RequestHandler;
  readonly #server: Http2Server | Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();

  constructor(config: Config, log: Logger, handler: RequestHandler) {
    this.#config = config;
    this.#handler = handler;
    this.#server = config.tlsCert && config.tlsKey
      ? createSecureServer({ ...SETTINGS, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), minVersion: config.tlsMinVersion })
      : createServer(SETTINGS);
    this.#server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.setTimeout(IDLE_MS, () => session.close());
      session.on('close', () => this.#sessions.delete(session));
      session.on('error', (err) => log.debug({ err }, 'HTTP/2 session error'));
    });
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.#request(stream, headers, rawHeaders));
    // a TLS handshake that fails, or a client that is not speaking HTTP/2 after all
    this.#server.on('tlsClientError', (err) => log.debug({ err }, 'TLS handshake failed'));
  }

  /**
   * A connection the gate handed over, with its two ends as the gate saw them: its preface (h2c)
   * or its ClientHello (TLS) is still unread.
   */
  adopt(socket: Socket, peer: Peer): void {
    (socket as PeeredSocket)[PEER] = peer;
    this.#server.emit('connection', socket);
  }

  close(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    const method = String(headers[':method'] ?? 'GET');
    const target = String(headers[':path'] ?? '/');
    const q = target.indexOf('?');
    // :authority stands for Host (RFC 9113 8.3.1); cookies split into several fields are one
    // header again, joined with '; ' (8.2.3)
    const list: string[] = [];
    const authority = headers[':authority'];
    if (authority !== undefined) list.push('host', String(authority));
    let cookie: string | undefined;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i];
      if (name[0] === ':' || (name === 'host' && authority !== undefined)) continue;
      if (name === 'cookie') cookie = cookie === undefined ? rawHeaders[i + 1] : `${cookie}; ${rawHeaders[i + 1]}`;
      else list.push(name, rawHeaders[i + 1]);
    }
    if (cookie !== undefined) list.push('cookie', cookie);
    this.#handler({
      method,
      url: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? '' : target.slice(q + 1),
      headers: list,
      ...this.#peerOf(stream.session),
      protocol: 'HTTP/2.0',
    }, new Http2Exchange(stream, method, this.#config.serverHeader));
  }

  // A session's socket is a proxy of the socket the gate handed over, or over TLS of the
  // TLSSocket that wraps it (Node keeps that one as `_parent`).
  #peerOf(session: Http2Session | undefined): Peer {
    const socket: PeeredSocket | undefined = session?.socket;
    return socket?.[PEER] ?? socket?._parent?.[PEER] ?? NO_PEER;
  }
}
