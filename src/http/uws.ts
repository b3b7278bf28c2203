// uWebSockets.js, loaded with a header limit large enough that over-long URLs reach our 414
// check (nginx's large_client_header_buffers is 8k) instead of uWS's own 431 at 4 KB.
import { fileURLToPath } from 'node:url';

process.env.UWS_HTTP_MAX_HEADERS_SIZE ??= '16384';
const uws = await import('uWebSockets.js');
export default uws;
/** the binary uWebSockets.js loaded (native/gate/uws_socket.cc reads its sockets) */
export const UWS_BINARY = fileURLToPath(new URL(
  `bin/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`, import.meta.resolve('uWebSockets.js')));
export type { HttpRequest, HttpResponse, us_listen_socket } from 'uWebSockets.js';
import type { TemplatedApp as DeclaredApp } from 'uWebSockets.js';
/** The binary also has adoptSocket(fd), which its typings leave out. */
export type TemplatedApp = DeclaredApp & { adoptSocket(fd: number): DeclaredApp };
