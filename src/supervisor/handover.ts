// What the supervisor hands to each server process beyond stdio and the IPC channel: the listening
// sockets, each named for the transport that serves it ('http'), the sibling board and RATE_LIMIT's
// table. They follow the IPC channel among the child's descriptors, and TOKIO_SOCKETS names each
// (`http=4,http=5,board=6,rate-table=7`), so no process counts positions and a new transport
// only adds sockets of its name.
import type { SharedSockets } from '../transport/sockets.js';

export const SOCKETS_ENV = 'TOKIO_SOCKETS';
/** the process's place on the sibling board (each process its own) */
export const BOARD_SLOT_ENV = 'TOKIO_BOARD_SLOT';

const BOARD = 'board';
const RATE_TABLE = 'rate-table';
// after stdin, stdout, stderr and the IPC channel
const FIRST_FD = 4;

/** A descriptor to hand over, as the supervisor holds it. */
export interface Handed {
  name: string;
  fd: number;
}

/** What the supervisor hands over: its listening sockets, the sibling board, RATE_LIMIT's table if on. */
export function handover(listening: Handed[], boardFd: number, rateTableFd?: number): { stdio: number[]; env: string } {
  const all = [...listening, { name: BOARD, fd: boardFd }, ...rateTableFd === undefined ? [] : [{ name: RATE_TABLE, fd: rateTableFd }]];
  return { stdio: all.map((h) => h.fd), env: all.map((h, i) => `${h.name}=${FIRST_FD + i}`).join(',') };
}

/** In a server process: what the supervisor handed over, by name. */
export function handedOver(env: NodeJS.ProcessEnv = process.env): { shared: SharedSockets; rateTableFd?: number } {
  const shared: SharedSockets = { listening: [] };
  let rateTableFd: number | undefined;
  for (const entry of (env[SOCKETS_ENV] ?? '').split(',').filter(Boolean)) {
    const [name, fd] = entry.split('=');
    if (name === BOARD) shared.board = { fd: Number(fd), slot: Number(env[BOARD_SLOT_ENV]) };
    else if (name === RATE_TABLE) rateTableFd = Number(fd);
    else shared.listening.push({ name, fd: Number(fd) });
  }
  return { shared, rateTableFd };
}
