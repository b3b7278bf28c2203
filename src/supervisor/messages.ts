// What a server process tells the supervisor, over Node's cluster IPC channel.
export type ProcessMessage =
  | { type: 'ready'; port: number; php?: string; zts?: boolean; opcache?: boolean }
  | { type: 'replace-me'; reason: string };

/** To the supervisor, when there is one (a server run in-process has no channel). */
export function send(message: ProcessMessage): void {
  process.send?.({ tokio: message });
}

export function received(raw: unknown): ProcessMessage | undefined {
  return typeof raw === 'object' && raw !== null && 'tokio' in raw ? (raw as { tokio: ProcessMessage }).tokio : undefined;
}
