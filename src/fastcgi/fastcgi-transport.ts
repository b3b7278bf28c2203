// FastCGI (a php-fpm drop-in): a web server in front (nginx's fastcgi_pass) sends each request as
// BEGIN_REQUEST, PARAMS (its CGI variables) and STDIN records; the answer goes back as STDOUT and
// END_REQUEST. One request at a time per connection (FCGI_MPXS_CONNS 0, as php-fpm); with
// FCGI_KEEP_CONN the connection takes the next one. The front decides routing: the script is its
// SCRIPT_FILENAME (see ./cgi-route.ts).
import { Socket } from 'node:net';
import { netAddon, type NativeGate } from '../native/addon.js';
import type { Config, ListenAddress } from '../config/config.js';
import type { Logger } from '../log.js';
import { openListeningSocket, removeSocketFile, socketsFor, FASTCGI_SOCKET, type SharedSockets } from '../transport/sockets.js';
import type { RequestHandler, Transport } from '../transport/transport.js';
import type { CgiParams, RequestHead } from '../transport/request-context.js';
import { FastCgiExchange } from './fastcgi-exchange.js';
import { KEEP_CONN, ProtocolStatus, RecordReader, RecordType, Role, endRequest, forEachPair, readPairs, recordHeader, writePairs, type FcgiRecord } from './records.js';

/** A connection's request in progress: its id, its PARAMS so far, then its exchange. */
interface Connection {
  current: Current | null;
  /** the request answered last: the rest of its STDIN, or its ABORT, may still come */
  answered: number;
}

interface Current {
  id: number;
  keepConn: boolean;
  params: Buffer[];
  ex?: FastCgiExchange;
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
    switch (raw.toString('latin1', at, valueAt)) {
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
  readonly #connections = new Set<Socket>();
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
    // the native gate accepts, as for HTTP (Node's net.Server would take the socket through the
    // cluster primary), and leaves a connection to a sibling process with more free PHP threads
    const { Gate } = netAddon();
    this.#gate = new Gate((fd) => this.#connection(new Socket({ fd, readable: true, writable: true })));
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
    for (const socket of this.#connections) socket.destroy();
    for (const address of this.#own) removeSocketFile(address);
  }

  #connection(socket: Socket): void {
    // over TCP, only the clients FASTCGI_ALLOWED_CLIENTS names: a FastCGI client chooses the script
    const allowed = this.#config.fastcgiAllowedClients;
    const from = socket.remoteAddress;
    if (allowed && from !== undefined && !allowed.check(from, from.includes(':') ? 'ipv6' : 'ipv4')) {
      this.#log.warn({ client: from }, 'FastCGI: a connection from a client FASTCGI_ALLOWED_CLIENTS does not name: closed');
      socket.destroy();
      return;
    }
    this.#connections.add(socket);
    const reader = new RecordReader();
    const state: Connection = { current: null, answered: 0 };
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const record of reader.push(chunk)) this.#record(socket, state, record);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'FastCGI: a malformed record: connection closed');
        state.current?.ex?.abort();
        socket.destroy();
      }
    });
    socket.on('close', () => {
      this.#connections.delete(socket);
      state.current?.ex?.abort();
    });
    socket.on('error', (err) => this.#log.debug({ err }, 'FastCGI connection error'));
  }

  #record(socket: Socket, state: Connection, record: FcgiRecord): void {
    const { type, requestId, content } = record;
    if (requestId === 0) return this.#management(socket, type, content);
    const current = state.current;
    if (type === RecordType.BeginRequest) {
      if (content.length < 8) throw new Error('a BEGIN_REQUEST of fewer than 8 bytes');
      // one request at a time on a connection, as FCGI_MPXS_CONNS 0 says
      if (current) return void socket.write(endRequest(requestId, 0, ProtocolStatus.CantMpxConn));
      const role: Role = content.readUInt16BE(0);
      if (role !== Role.Responder) return void socket.write(endRequest(requestId, 0, ProtocolStatus.UnknownRole));
      state.current = { id: requestId, keepConn: (content[2] & KEEP_CONN) !== 0, params: [] };
      return;
    }
    if (!current || current.id !== requestId) {
      // what the front still sends of a request answered early (a 404 before its body) is dropped
      if (requestId === state.answered && (type === RecordType.Stdin || type === RecordType.AbortRequest)) return;
      throw new Error(`a record (type ${type}) for request ${requestId}, which was never begun`);
    }
    switch (type) {
      case RecordType.Params:
        if (current.ex) throw new Error('PARAMS after the end of the PARAMS stream');
        if (content.length) return void current.params.push(content);
        return this.#dispatch(socket, state, current);
      case RecordType.Stdin:
        if (!current.ex) throw new Error('STDIN before the end of the PARAMS stream');
        return current.ex.stdin(content);
      case RecordType.AbortRequest:
        return current.ex ? current.ex.abort() : void socket.write(endRequest(requestId, 0, ProtocolStatus.RequestComplete));
      default:
        throw new Error(`a record of type ${type} from the web server`);
    }
  }

  #dispatch(socket: Socket, state: Connection, current: Current): void {
    // a pair may be split across PARAMS records: they are read as one stream
    const params = current.params.length === 1 ? current.params[0] : Buffer.concat(current.params);
    current.params = [];
    const head = headFromParams(params);
    current.ex = new FastCgiExchange(socket, current.id, head.method, current.keepConn, () => {
      if (state.current !== current) return;
      state.current = null;
      state.answered = current.id;
    });
    this.#handler(head, current.ex);
  }

  /** Records about the application, not a request: GET_VALUES is answered, others are unknown. */
  #management(socket: Socket, type: RecordType, content: Buffer): void {
    if (type !== RecordType.GetValues) {
      const body = Buffer.alloc(8);
      body[0] = type;
      socket.write(Buffer.concat([recordHeader(RecordType.UnknownType, 0, 8), body]));
      return;
    }
    const asked: string[] = [];
    readPairs(content, asked);
    const known: Record<string, string> = { FCGI_MAX_CONNS: '1024', FCGI_MAX_REQS: '1024', FCGI_MPXS_CONNS: '0' };
    const answer = writePairs(asked.filter((_, i) => i % 2 === 0 && known[asked[i]] !== undefined).map((name) => [name, known[name]]));
    socket.write(Buffer.concat([recordHeader(RecordType.GetValuesResult, 0, answer.length), answer]));
  }
}
