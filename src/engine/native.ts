// The addon's surface, typed. Everything PHP-side crosses here as strings, numbers and Buffers.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { EngineStats, PhpResponse } from './engine.js';

/** Positions in execute()'s `fields` array: native/engine/job.h `enum Field` mirrors this. */
export const enum Field {
  Method, RequestUri, QueryString, ScriptFilename, ScriptName, PathInfo, DocumentRoot,
  DocumentUri, ServerName, ServerAddr, ServerPort, RemoteAddr, RemotePort, Protocol,
  RequestId, Count,
}

export const enum AbortReason { Disconnect = 1, Kill = 2 }

export interface NativeEngineOptions {
  workers: number;
  stackSize: number;
  maxRequests: number;
  iniPath: string;
  iniDefaults: string;
  iniEntries: string;
  serverSoftware: string;
  version: string;
  executor: 'ext' | 'eval';
  env: string[];
  onLog: (level: number, message: string, requestId: string | undefined) => void;
  onStream: (id: number, kind: 'headers' | 'chunk' | 'finish' | 'heartbeat', ...args: any[]) => void;
}

/** execute()'s flags */
export const enum ExecuteFlag { Https = 1, Streaming = 2, EventStream = 4 }

export interface NativeStartInfo {
  phpVersion: string;
  sapiName: string;
  zts: boolean;
  opcache: boolean;
  workers: number;
}

/** What the addon resolves execute() with: the public response plus its own flags. */
export interface NativeResult extends PhpResponse {
  /** output could not be captured (memory, memfd): the status is 500 */
  outputFailed: boolean;
}

export interface NativeEngine {
  start(): Promise<NativeStartInfo>;
  execute(
    id: number, fields: string[], headers: string[], serverVars: string[], body: Buffer | null,
    flags: number, contentLength: number, requestTime: number, heartbeatMaxMs: number,
  ): Promise<NativeResult>;
  abort(id: number, reason: AbortReason): boolean;
  /** the socket took `bytes` more of a streamed response: the PHP thread may write on */
  ack(id: number, bytes: number): void;
  stats(): EngineStats;
  shutdown(): Promise<void>;
}

/** Accepts plain-HTTP connections and says who should serve each: see native/gate/gate.cc. */
export interface NativeGate {
  /** Binds and starts accepting; returns the bound port. Throws with the system's reason. */
  listen(host: string, port: number): number;
  close(): void;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

type GateCallback = (fd: number, verdict: 'uws' | 'node', remoteAddr: string, remotePort: number) => void;

function load(): {
  Engine: new (options: NativeEngineOptions) => NativeEngine;
  Gate: new (onConnection: GateCallback) => NativeGate;
} {
  const file = path.join(root, 'build/Release/tokio_php.node');
  try {
    return createRequire(import.meta.url)(file);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`tokio-php's native addon could not be loaded from ${file}: ${why}\n` +
      'Build it with `npm install` (it builds PHP 8.4 ZTS if needed), or `npm rebuild tokio-php`.');
  }
}

let addon: ReturnType<typeof load> | undefined;
export function nativeAddon(): ReturnType<typeof load> {
  addon ??= load();
  return addon;
}
