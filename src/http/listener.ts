// Accepting connections and turning requests into (RequestHead, Exchange) pairs.
//
// Plain HTTP goes through the native gate, which peeks at each connection's first request:
// well-formed HTTP/1.1 is adopted by uWebSockets.js (the fast path); HTTP/1.0, malformed
// requests, a missing Host and requests pipelined from the start go to Node's http, which
// answers them as nginx would. TLS connections cannot be peeked at and all go to uWS. The gate
// says who is at each end of a connection; a uWS request finds its connection by descriptor.
// Later heads on a plain uWS connection are read by a native hook first, under the same rules: one
// uWS would refuse moves, with its connection, to Node's http.
import { closeSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Config, ListenAddress } from '../config/config.js';
import { netAddon, type NativeGate } from '../native/addon.js';
import type { Logger } from '../log.js';
import { HTTP_SOCKET, openListeningSocket, removeSocketFile, socketsFor, type SharedSockets } from '../transport/sockets.js';
import type { RequestHandler, Transport } from '../transport/transport.js';
import type { RequestHead } from '../transport/request-context.js';
import { statusLine } from './exchange.js';
import { Http2Front } from '../http2/http2-front.js';
import { NodeExchange } from './node-exchange.js';
import { UwsExchange } from './uws-exchange.js';
import uws, { UWS_BINARY, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';

type Peer = Pick<RequestHead, 'remoteAddr' | 'remotePort' | 'serverAddr' | 'serverPort'>;
const UNKNOWN_PEER: Peer = { remoteAddr: '', remotePort: 0, serverAddr: '', serverPort: 0 };

// A uWS request's header lines, name, value, ...: req.forEach fills it (synchronously) from the start.
const GATHERED: string[] = [];
let gathered = 0;
function gather(name: string, value: string): void {
  GATHERED[gathered++] = name;
  GATHERED[gathered++] = value;
}

/**
 * No event loop of this process accepts new connections from now on (each listener's close()
 * follows as its loop drains): the other processes, or the kernel's backlog for a replacement,
 * get them.
 */
export function stopAcceptingInProcess(): void {
  netAddon().Gate.stopAcceptingAll();
}

/** HTTP/1.1 and HTTP/1.0, plain or over TLS. */
export class Listener implements Transport {
  readonly name = HTTP_SOCKET;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #app: TemplatedApp;
  readonly #node: Server;
  readonly #http2: Http2Front | null;
  #gate: NativeGate | null = null;
  /** by descriptor: the connections uWS serves (an entry outlives its connection until the fd is reused) */
  readonly #uwsPeers: Peer[] = [];
  readonly #nodePeers = new WeakMap<Socket, Peer>();
  #marked = true; // uWS still adds its `uWebSockets: 20` header
  #shared = false; // other processes accept on the socket (a replacement may, even with PROCESSES=1)
  #addresses: ListenAddress[] = [];
  #own: ListenAddress[] = []; // the sockets it made itself (no supervisor), whose files it removes
  #open = false;

  constructor(config: Config, log: Logger, handler: RequestHandler) {
    this.#config = config;
    this.#log = log;
    const tls = Boolean(config.tlsCert && config.tlsKey);
    const uwsSocket = netAddon().uws;
    if (!uwsSocket.attach(UWS_BINARY)) {
      throw new Error(`${UWS_BINARY} does not export uSockets' API: tokio-php needs the uWebSockets.js of its package.json`);
    }
    this.#app = (tls
      ? uws.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey })
      : uws.App()) as TemplatedApp;
    // over TLS, uWS's limits still hold from a connection's second request (README: Timeouts and limits)
    if (!tls && !uwsSocket.watchHeads(this.#app, config.headerTimeout, (fd, bytes, remoteAddr, remotePort, serverAddr, serverPort) =>
      this.#adopt(fd, 'node', { remoteAddr, remotePort, serverAddr, serverPort }, bytes))) {
      throw new Error(`${UWS_BINARY} is not laid out as tokio-php expects: tokio-php needs the uWebSockets.js of its package.json`);
    }
    this.#app.any('/*', (res: HttpResponse, req: HttpRequest) => {
      if (this.#marked) this.#unmark(res, tls);
      const ex = new UwsExchange(res, req.getCaseSensitiveMethod(), config.serverHeader, tls);
      // gathered into a reused array, then copied at their exact size: no closure per request, and
      // no array grown by push (19 slots at first, reallocated past 9 headers)
      gathered = 0;
      req.forEach(gather);
      const headers = GATHERED.slice(0, gathered);
      const peer = this.#uwsPeers[uwsSocket.socketFd(res)] ?? UNKNOWN_PEER;
      handler({
        method: ex.method,
        url: req.getUrl(),
        query: req.getQuery() ?? '',
        headers,
        remoteAddr: peer.remoteAddr,
        remotePort: peer.remotePort,
        serverAddr: peer.serverAddr,
        serverPort: peer.serverPort,
        protocol: 'HTTP/1.1', // the gate sends uWS nothing else
      }, ex);
    });
    // no bound on a whole request (Node's default, 300 s, cut long uploads): BODY_TIMEOUT bounds the
    // wait between two reads of a body, and HEADER_TIMEOUT the head, as on the uWS path
    this.#node = createServer({ maxHeaderSize: 16 * 1024, requireHostHeader: true, keepAliveTimeout: 10_000,
      headersTimeout: config.headerTimeout, requestTimeout: 0 },
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
          ...this.#nodePeers.get(req.socket) ?? UNKNOWN_PEER,
          protocol: `HTTP/${req.httpVersion}`,
        }, new NodeExchange(req, res, config.serverHeader));
      });
    this.#http2 = config.http2 ? new Http2Front(config, log, handler) : null;
    this.#node.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#refuse(err, socket));
  }

  get addresses(): ListenAddress[] {
    return this.#addresses;
  }

  /**
   * Accepts on sockets of its own, or on the sockets of `shared` named for it, which the
   * supervisor shares with every server process (this one is `board.slot` of their sibling
   * board), and which this listener's gate owns from now on.
   */
  listen(shared?: SharedSockets): void {
    const { headerTimeout, tlsCert } = this.#config;
    const { Gate } = netAddon();
    const own = shared ? [] : socketsFor(this.#config).filter((s) => s.name === this.name)
      .map((s) => openListeningSocket(s.address, this.#config, null));
    this.#own = own.map((s) => s.address);
    const fds = shared ? shared.listening.filter((s) => s.name === this.name).map((s) => s.fd) : own.map((s) => s.fd);
    this.#open = true;
    this.#gate = new Gate((fd, verdict, remoteAddr, remotePort, serverAddr, serverPort) =>
      this.#adopt(fd, verdict, { remoteAddr, remotePort, serverAddr, serverPort }));
    if (shared?.board) this.#gate.share(shared.board.fd, shared.board.slot, this.#config.workers);
    this.#shared = Boolean(shared?.board);
    this.#addresses = this.#gate.listen(fds, headerTimeout, Boolean(tlsCert), this.#config.serverHeader, this.#config.http2,
      this.#config.tlsMinVersion === 'TLSv1.3');
  }

  /** `bytes`: what uWS read of a request it will not serve, for Node's http to parse first */
  #adopt(fd: number, verdict: 'uws' | 'node' | 'h2', peer: Peer, bytes?: Buffer): void {
    if (!this.#open) {
      closeSync(fd);
      return;
    }
    if (verdict === 'uws') {
      this.#uwsPeers[fd] = peer;
      this.#app.adoptSocket(fd);
      return;
    }
    const socket = new Socket({ fd, readable: true, writable: true });
    socket.on('error', (err) => this.#log.debug({ err }, 'connection error'));
    if (verdict === 'h2' && this.#http2) return this.#http2.adopt(socket, peer);
    if (bytes) socket.unshift(bytes);
    this.#nodePeers.set(socket, peer);
    this.#node.emit('connection', socket);
  }

  /** What Node's parser refuses gets the short plain answer every other refusal gets, with the Server header. */
  #refuse(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const text = `${statusLine(status)}\n`;
    const server = this.#config.serverHeader ? `Server: ${this.#config.serverHeader}\r\n` : '';
    socket.end(`HTTP/1.1 ${statusLine(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\n${server}Connection: close\r\n\r\n${text}`, 'latin1');
  }

  // Once, on the first uWS request: the loop is reached through a socket.
  #unmark(res: HttpResponse, tls: boolean): void {
    this.#marked = false;
    if (!netAddon().uws.silence(res, tls)) this.#log.warn('uWebSockets.js could not be kept from adding its uWebSockets header');
  }

  /** How many PHP threads this process has free, after an admission or a release: siblings with more room accept first. */
  poolChanged(free: number, change: 1 | -1 | 0): void {
    if (this.#shared) this.#gate?.setFree(free, change);
  }

  /** No new connections; those already accepted are still handed over and served. */
  stopAccepting(): void {
    this.#gate?.stopAccepting();
  }

  close(): void {
    this.#open = false;
    this.#gate?.close();
    this.#gate = null;
    this.#app.close();
    this.#node.closeAllConnections();
    this.#http2?.close();
    for (const address of this.#own) removeSocketFile(address);
  }
}
