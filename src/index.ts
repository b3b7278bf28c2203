export { Engine } from './engine/engine.js';
export type {
  EngineInfo, EngineOptions, EngineStats, ExecuteHooks, PhpLogEntry, PhpRequest, PhpResponse, PoolManager, SlowRequest, WorkerStats,
} from './engine/engine.js';
export { TokioServer } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export { loadConfig } from './config/config.js';
export type { Config } from './config/config.js';
export { createLogger } from './log.js';
export type { Answer, Finished, Middleware, Reply } from './middleware/chain.js';
export type { RequestContext, RequestHead, Upstream } from './transport/request-context.js';
