// A transport brings requests to the pipeline (src/server/server.ts): it accepts connections on a
// listening socket, speaks their protocol, and turns each request into a RequestHead and an
// Exchange. Today HTTP/1 (src/http/listener.ts: the gate, uWebSockets.js and Node's http); the
// pipeline behind does not know which one brought a request.
import type { Config } from '../config/config.js';
import type { Exchange } from '../http/exchange.js';
import type { RequestHead } from './request-context.js';
import { Listener } from '../http/listener.js';
import type { Logger } from '../log.js';

export type RequestHandler = (head: RequestHead, ex: Exchange) => void;

/**
 * The listening socket a server process got from the supervisor, and its sibling board: every
 * event loop's gate of a process publishes to the process's place on it, as the free PHP threads
 * they share less the connections each has just accepted.
 */
export interface SharedSocket {
  listenFd: number;
  board?: { fd: number; slot: number };
}

export interface Transport {
  /** what the supervisor knows this transport's listening socket by */
  readonly name: string;
  /** the port it accepts on, once listening */
  readonly port: number;
  /** Accepts on the supervisor's socket, or on a socket of its own; returns the port. */
  listen(shared?: SharedSocket): number;
  /** The pool has `free` PHP threads after an admission (+1), a release (-1) or at the start (0). */
  poolChanged(free: number, change: 1 | -1 | 0): void;
  /** No new connections; those already accepted are still served. */
  stopAccepting(): void;
  close(): void;
}

/** The transports a configuration serves on: the one place that chooses them. */
export function transportsFor(config: Config, log: Logger, handler: RequestHandler): Transport[] {
  return [new Listener(config, log, handler)];
}
