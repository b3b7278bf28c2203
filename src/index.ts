export { Engine } from './engine/engine.js';
export type {
  EngineInfo, EngineOptions, EngineStats, ExecuteHooks, PhpLogEntry, PhpRequest, PhpResponse, WorkerStats,
} from './engine/engine.js';
