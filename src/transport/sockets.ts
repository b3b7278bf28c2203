// The listening sockets transports accept on. Made once, by the supervisor for every server process
// and event loop (or by a server of its own), each named for the transport that serves it: a
// transport picks its own from the list by name.
import { formatListenAddress, type Config, type ListenAddress } from '../config/config.js';
import { netAddon } from '../native/addon.js';

/** what the HTTP transport's sockets are called (src/http/listener.ts) */
export const HTTP_SOCKET = 'http';

export interface ListeningSocket {
  /** the transport that serves it */
  name: string;
  fd: number;
}

/**
 * The listening sockets a server process got from the supervisor, and its sibling board: every
 * event loop's gate of a process publishes to the process's place on it, as the free PHP threads
 * they share less the connections each has just accepted.
 */
export interface SharedSockets {
  listening: ListeningSocket[];
  board?: { fd: number; slot: number };
}

/** The listening sockets a configuration needs, each named for the transport that serves it. */
export function socketsFor(config: Config): { name: string; address: ListenAddress }[] {
  return config.listen.map((address) => ({ name: HTTP_SOCKET, address }));
}

/** A listening socket on `address`, and where it listens (the port a :0 got); throws naming LISTEN_ADDR. */
export function openListeningSocket(address: ListenAddress): { fd: number; address: ListenAddress } {
  try {
    return netAddon().Gate.listenSocket(address);
  } catch (err) {
    throw new Error(`cannot listen on ${formatListenAddress(address)} (LISTEN_ADDR): ${(err as Error).message}`);
  }
}
