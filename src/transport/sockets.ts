// The listening sockets transports accept on. Made once, by the supervisor for every server process
// and event loop (or by a server of its own), each named for the transport that serves it: a
// transport picks its own from the list by name.

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
