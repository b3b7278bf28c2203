// FastCGI (a php-fpm drop-in): a web server in front (nginx's fastcgi_pass) sends each request as
// BEGIN_REQUEST, PARAMS (its CGI variables) and STDIN records; the answer goes back as STDOUT and
// END_REQUEST. One request at a time per connection (FCGI_MPXS_CONNS 0, as php-fpm); with
// FCGI_KEEP_CONN the connection takes the next one. The front decides routing: the script is its
// SCRIPT_FILENAME (see ./cgi-route.ts). Records are read and written in the addon
// (native/fastcgi/), on this thread's loop, without a Node socket per connection.
import { closeSync } from 'node:fs';
import { isIP } from 'node:net';
import { FcgiEvent, netAddon, type NativeFcgiConnections, type NativeGate } from '../native/addon.js';
import type { Config, ListenAddress } from '../config/config.js';
import type { Logger } from '../log.js';
import { openListeningSocket, removeSocketFile, socketsFor, FASTCGI_SOCKET, type SharedSockets } from '../transport/sockets.js';
import type { RequestHandler, Transport } from '../transport/transport.js';
import type { CgiParams, RequestHead } from '../transport/request-context.js';
import { FastCgiExchange, type FcgiOutput } from './fastcgi-exchange.js';
import { forEachPair } from './records.js';

/** One connection, as its exchanges write to it: the addon frames and sends, this keeps its state. */
class FcgiConnection implements FcgiOutput {
  closed = false;
  /** the request in progress */
  ex: FastCgiExchange | null = null;
  #drainWaiters: (() => void)[] = [];
  #lent = false; // to a PHP thread: the addon closes it once it is back, even if the front left

  constructor(readonly native: NativeFcgiConnections, readonly id: number, readonly connections: Map<number, FcgiConnection>) {}

  write(parts: Uint8Array | Uint8Array[]): boolean {
    return this.closed || this.native.write(this.id, parts);
  }

  finish(requestId: number, keepOpen: boolean): void {
    this.ex = null;
    if (this.closed && !this.#lent) return;
    this.#lent = false;
    this.native.finish(this.id, requestId, keepOpen);
    if (!keepOpen) this.gone();
  }

  lend(): number {
    const fd = this.closed ? -1 : this.native.lend(this.id);
    this.#lent = fd >= 0;
    return fd;
  }

  release(): void {
    this.#lent = false;
    this.native.release(this.id);
  }

  onDrain(callback: () => void): void {
    this.#drainWaiters.push(callback);
  }

  drained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  gone(): void {
    this.closed = true;
    this.connections.delete(this.id);
  }
}

// The params the server reads, by the length of their names: a name is matched on its bytes, and
// no string is made of the others (nginx sends some 30 params a request). headFromParams' switch
// takes its cases from this list: one not in it does not compile.
const READ_PARAM_NAMES = ['CONTENT_TYPE', 'CONTENT_LENGTH', 'REQUEST_METHOD', 'QUERY_STRING', 'REQUEST_URI', 'SCRIPT_FILENAME',
  'SCRIPT_NAME', 'PATH_INFO', 'DOCUMENT_ROOT', 'HTTPS', 'SERVER_NAME', 'PHP_VALUE', 'PHP_ADMIN_VALUE', 'SERVER_PROTOCOL',
  'REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_ADDR', 'SERVER_PORT'] as const;
type ReadParam = (typeof READ_PARAM_NAMES)[number];
const READ_PARAMS = new Map<number, ReadParam[]>();
for (const name of READ_PARAM_NAMES) READ_PARAMS.set(name.length, [...READ_PARAMS.get(name.length) ?? [], name]);

/** Which of READ_PARAMS the name in raw[at, end) is, if any. */
function paramName(raw: Buffer, at: number, end: number): ReadParam | undefined {
  const names = READ_PARAMS.get(end - at);
  if (names) {
    next: for (const name of names) {
      for (let i = 0; i < name.length; i++) if (raw[at + i] !== name.charCodeAt(i)) continue next;
      return name;
    }
  }
  return undefined;
}

/**
 * The CGI variables (PARAMS' pairs, as sent) as a request head, in one pass: the method, URI and
 * headers nginx passed (HTTP_*, CONTENT_*), and what the server reads of the rest. Strings are made
 * only of those; paths are UTF-8, as the engine's paths, and the rest latin1 (bytes), as headers.
 */
export function headFromParams(raw: Buffer): RequestHead {
  const headers: string[] = [];
  const cgi: CgiParams = { raw, scriptFilename: '', scriptName: '', pathInfo: '', https: false };
  let method = 'GET', query = '', protocol = 'HTTP/1.1', remoteAddr = '', serverAddr = '', remotePort = 0, serverPort = 0;
  forEachPair(raw, (at, valueAt, end) => {
    const value = () => raw.toString('latin1', valueAt, end);
    const path = () => raw.toString('utf8', valueAt, end);
    if (valueAt - at > 5 && raw[at] === 0x48 && raw.toString('latin1', at, at + 5) === 'HTTP_') {
      headers.push(raw.toString('latin1', at + 5, valueAt).toLowerCase().replaceAll('_', '-'), value());
      return;
    }
    switch (paramName(raw, at, valueAt)) {
      case 'CONTENT_TYPE': if (end > valueAt) headers.push('content-type', value()); break;
      case 'CONTENT_LENGTH': if (end > valueAt) headers.push('content-length', value()); break;
      case 'REQUEST_METHOD': if (end > valueAt) method = value(); break;
      case 'QUERY_STRING': query = value(); break;
      case 'REQUEST_URI': cgi.requestUri = value(); break;
      case 'SCRIPT_FILENAME': cgi.scriptFilename = path(); break;
      case 'SCRIPT_NAME': cgi.scriptName = path(); break;
      case 'PATH_INFO': cgi.pathInfo = path(); break;
      case 'DOCUMENT_ROOT': cgi.documentRoot = path(); break;
      case 'HTTPS': cgi.https = end > valueAt && value() !== 'off'; break;
      case 'SERVER_NAME': cgi.serverName = value(); break;
      case 'PHP_VALUE': cgi.phpValue = path(); break;
      case 'PHP_ADMIN_VALUE': cgi.phpAdminValue = path(); break;
      case 'SERVER_PROTOCOL': if (end > valueAt) protocol = value(); break;
      case 'REMOTE_ADDR': remoteAddr = value(); break;
      case 'REMOTE_PORT': remotePort = Number(value()); break;
      case 'SERVER_ADDR': serverAddr = value(); break;
      case 'SERVER_PORT': serverPort = Number(value()); break;
    }
  });
  cgi.requestUri ??= `${cgi.scriptName || '/'}${query ? `?${query}` : ''}`;
  const q = cgi.requestUri.indexOf('?');
  return { method, url: q < 0 ? cgi.requestUri : cgi.requestUri.slice(0, q), query, headers, remoteAddr, remotePort, serverAddr, serverPort, protocol, cgi };
}

export class FastCgiTransport implements Transport {
  readonly name = FASTCGI_SOCKET;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #handler: RequestHandler;
  #gate: NativeGate | null = null;
  #native: NativeFcgiConnections | null = null;
  readonly #connections = new Map<number, FcgiConnection>();
  #addresses: ListenAddress[] = [];
  #own: ListenAddress[] = [];
  #shared = false;

  constructor(config: Config, log: Logger, handler: RequestHandler) {
    this.#config = config;
    this.#log = log;
    this.#handler = handler;
  }

  get addresses(): ListenAddress[] {
    return this.#addresses;
  }

  listen(shared?: SharedSockets): void {
    const own = shared ? [] : socketsFor(this.#config).filter((s) => s.name === this.name)
      .map((s) => openListeningSocket(s.address, this.#config, null, s.name));
    this.#own = own.map((s) => s.address);
    const fds = shared ? shared.listening.filter((s) => s.name === this.name).map((s) => s.fd) : own.map((s) => s.fd);
    const { Gate, FcgiConnections } = netAddon();
    this.#native = new FcgiConnections(this.#event);
    // the native gate accepts, as for HTTP (Node's net.Server would take the socket through the
    // cluster primary), and leaves a connection to a sibling process with more free PHP threads;
    // it hands one over to the addon itself, unless it is over TCP (the client is checked here)
    this.#gate = new Gate((fd, _verdict, remoteAddr) => this.#connection(fd, remoteAddr));
    this.#gate.handTo(this.#native);
    this.#addresses = this.#gate.listen(fds, this.#config.headerTimeout, false, '', false, false, true);
    if (shared?.board) this.#gate.share(shared.board.fd, shared.board.slot, this.#config.workers);
    this.#shared = Boolean(shared?.board);
  }

  // Beside an HTTP gate, the free threads only: the loop's admissions and releases are that gate's
  // to count on the board (once), and this gate's reservations end with their 20 ms.
  poolChanged(free: number, change: 1 | -1 | 0): void {
    if (this.#shared) this.#gate?.setFree(free, this.#config.listen.length ? 0 : change);
  }

  stopAccepting(): void {
    this.#gate?.stopAccepting();
  }

  close(): void {
    this.#gate?.close();
    this.#gate = null;
    for (const connection of this.#connections.values()) connection.ex?.abort();
    this.#connections.clear();
    this.#native?.close();
    for (const address of this.#own) removeSocketFile(address);
  }

  #connection(fd: number, remoteAddr: string): void {
    // over TCP, only the clients FASTCGI_ALLOWED_CLIENTS names: a FastCGI client chooses the script
    const allowed = this.#config.fastcgiAllowedClients;
    const family = isIP(remoteAddr); // 0 on a Unix socket ('unix:')
    if (allowed && family && !allowed.check(remoteAddr, family === 6 ? 'ipv6' : 'ipv4')) {
      this.#log.warn({ client: remoteAddr }, 'FastCGI: a connection from a client FASTCGI_ALLOWED_CLIENTS does not name: closed');
      closeSync(fd);
      return;
    }
    const id = this.#native!.adopt(fd);
    if (id) this.#connections.set(id, new FcgiConnection(this.#native!, id, this.#connections));
  }

  readonly #event = (conn: number, kind: FcgiEvent, requestId: number, data: Buffer | string | undefined, keepConn: boolean): void => {
    // a connection the gate handed to the addon is known from its first request on
    let connection = this.#connections.get(conn);
    if (!connection && kind === FcgiEvent.Request) this.#connections.set(conn, connection = new FcgiConnection(this.#native!, conn, this.#connections));
    if (kind === FcgiEvent.Closed && data) this.#log.warn({ err: data }, 'FastCGI: a malformed record: connection closed');
    if (!connection) return;
    switch (kind) {
      case FcgiEvent.Request: {
        const head = headFromParams(data as Buffer);
        const ex = new FastCgiExchange(connection, requestId, head.method, keepConn);
        connection.ex = ex;
        return this.#handler(head, ex);
      }
      case FcgiEvent.Stdin:
        return connection.ex?.stdin(data as Buffer);
      case FcgiEvent.Abort:
        return connection.ex?.abort();
      case FcgiEvent.Drain:
        return connection.drained();
      case FcgiEvent.Closed:
        connection.gone();
        return connection.ex?.abort();
    }
  };
}
