// What the transport layer knows of one request, for everything behind it (src/server/server.ts,
// the middleware, the PHP back): the head a transport reads off the wire, and the per-request
// context that rides on its Exchange (Exchange.context), made by the middleware chain when
// middleware runs (src/middleware/chain.ts).

export interface RequestHead {
  method: string;
  /** path as received, without the query */
  url: string;
  query: string;
  /** lower-case name, value, name, value, ... */
  headers: string[];
  remoteAddr: string;
  remotePort: number;
  /** the address the connection arrived on (nginx's $server_addr) */
  serverAddr: string;
  /** its port (nginx's $server_port); 0 on a Unix socket */
  serverPort: number;
  /** 'HTTP/1.1', 'HTTP/1.0' or 'HTTP/2.0' */
  protocol: string;
  /** FastCGI: the front's CGI variables; the front decided the script */
  cgi?: CgiParams;
}

/** A FastCGI request's PARAMS: every pair as sent, and those the server reads, read once. */
export interface CgiParams {
  /** the pairs as sent: $_SERVER's entries, in order (a later one replaces an earlier one, as in php-fpm) */
  raw: Buffer;
  scriptFilename: string;
  scriptName: string;
  pathInfo: string;
  requestUri?: string;
  documentRoot?: string;
  https: boolean;
  serverName?: string;
  /** php-fpm's per-request ini lines */
  phpValue?: string;
  phpAdminValue?: string;
}

/** Who made the response: a static file, PHP, or the server itself (errors, redirects, early answers). */
export type Upstream = 'static' | 'php' | 'server';

export interface RequestContext {
  readonly head: RequestHead;
  /** performance.now() when the request reached the chain */
  readonly startedAt: number;
  /** the client: the peer, or the address a trusted proxy forwarded for */
  clientAddr: string;
  upstream: Upstream;
  /** the response is the server's own short error answer (404, 413, 503, 504, ...) */
  serverMade: boolean;
  /** PHP requests: the worker thread (-1 if it never ran), ids, and where the time went */
  worker: number;
  requestId: string;
  traceId: string;
  queueMs: number;
  execMs: number;
  /** a request header's value, '' when absent */
  header(name: string): string;
  /** a header every response to this request carries, whoever makes it (set on the request side) */
  addResponseHeader(name: string, value: string): void;
}
