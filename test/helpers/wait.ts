import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../../src/index.js';

/** Resolves once a worker runs request `id` (bounded: 5 s). */
export async function runningOn(engine: Engine, id: number): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const w = engine.stats().workers.find((x) => x.job === id);
    if (w) return w.id;
    await sleep(10);
  }
  throw new Error(`request ${id} never started`);
}
