// A transport brings requests to the pipeline (src/server/server.ts): it accepts connections on
// its listening sockets, speaks their protocol, and turns each request into a RequestHead and an
// Exchange. Today HTTP/1 (src/http/listener.ts: the gate, uWebSockets.js and Node's http); the
// pipeline behind does not know which one brought a request.
import type { Config, ListenAddress } from '../config/config.js';
import type { Exchange } from '../http/exchange.js';
import type { RequestHead } from './request-context.js';
import { Listener } from '../http/listener.js';
import { FastCgiTransport } from '../fastcgi/fastcgi-transport.js';
import type { Logger } from '../log.js';
import type { SharedSockets } from './sockets.js';

export type RequestHandler = (head: RequestHead, ex: Exchange) => void;

export interface Transport {
  /** what the supervisor names this transport's listening sockets (see ./sockets.ts) */
  readonly name: string;
  /** where it accepts, once listening */
  readonly addresses: ListenAddress[];
  /** Accepts on the supervisor's sockets of its name, or on sockets of its own (./sockets.ts). */
  listen(shared?: SharedSockets): void;
  /** The pool has `free` PHP threads after an admission (+1), a release (-1) or at the start (0). */
  poolChanged(free: number, change: 1 | -1 | 0): void;
  /** No new connections; those already accepted are still served. */
  stopAccepting(): void;
  close(): void;
}

/** The transports a configuration serves on: the one place that chooses them. */
export function transportsFor(config: Config, log: Logger, handler: RequestHandler): Transport[] {
  const transports: Transport[] = [];
  if (config.listen.length) transports.push(new Listener(config, log, handler));
  if (config.fastcgiListen.length) transports.push(new FastCgiTransport(config, log, handler));
  return transports;
}
