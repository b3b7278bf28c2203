// The listening sockets transports accept on. Made once, by the supervisor for every server process
// and event loop (or by a server of its own), each named for the transport that serves it: a
// transport picks its own from the list by name.
import { rmSync } from 'node:fs';
import { formatListenAddress, type Config, type ListenAddress } from '../config/config.js';
import { netAddon } from '../native/addon.js';
import { socketOwner, type RunAs } from '../supervisor/privileges.js';

/** what the HTTP transport's sockets are called (src/http/listener.ts) */
export const HTTP_SOCKET = 'http';
/** what the FastCGI transport's sockets are called (src/fastcgi/fastcgi-transport.ts) */
export const FASTCGI_SOCKET = 'fastcgi';
const VARIABLE: Record<string, string> = { [HTTP_SOCKET]: 'LISTEN_ADDR', [FASTCGI_SOCKET]: 'FASTCGI_LISTEN' };

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
  return [
    ...config.listen.map((address) => ({ name: HTTP_SOCKET, address })),
    ...config.fastcgiListen.map((address) => ({ name: FASTCGI_SOCKET, address })),
  ];
}

/**
 * A listening socket on `address`, and where it listens (the port a :0 got). A Unix socket's file
 * gets LISTEN_SOCKET_MODE and its owner and group (see socketOwner; `runAs`: whom PHP runs as) before
 * it listens. Throws naming the variable to look at.
 */
export function openListeningSocket(address: ListenAddress, config: Config, runAs: RunAs | null, name = HTTP_SOCKET): { fd: number; address: ListenAddress } {
  const files = name === FASTCGI_SOCKET ? config.fastcgiSocket : config.listenSocket;
  const spec = 'path' in address ? { ...address, mode: files.mode, ...socketOwner(files, runAs) } : address;
  try {
    return netAddon().Gate.listenSocket(spec);
  } catch (err) {
    const { message, syscall } = err as Error & { syscall?: string };
    const text = formatListenAddress(address);
    const [modeVariable, ownerVariable, groupVariable] = files.variables;
    if (syscall === 'chown') throw new Error(`cannot give ${text} to its owner and group (${ownerVariable}, ${groupVariable}): ${message}`, { cause: err });
    if (syscall === 'chmod') throw new Error(`cannot set the mode of ${text} (${modeVariable}): ${message}`, { cause: err });
    throw new Error(`cannot listen on ${text} (${VARIABLE[name]}): ${message}`, { cause: err });
  }
}

/** A Unix socket's file, once nothing listens on it any more (a clean exit). */
export function removeSocketFile(address: ListenAddress): void {
  if ('path' in address) rmSync(address.path, { force: true });
}
