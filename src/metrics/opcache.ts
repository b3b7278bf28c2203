// OPcache's figures live in PHP's shared memory, readable only from inside PHP: a tiny script
// runs on a worker thread at scrape time (and counts as that worker's request).
import path from 'node:path';
import type { Engine, PhpRequest } from '../engine/engine.js';
import { PACKAGE_ROOT } from '../package.js';
import { counter, gauge, type MetricFamily } from './recorder.js';

const SCRIPT = path.join(PACKAGE_ROOT, 'src/metrics/opcache-status.php');
// with every worker busy the scrape goes on without OPcache's figures
const WAIT_MS = 1_000;

interface OpcacheStatus { used: number; free: number; wasted: number; hits: number; misses: number; scripts: number; restarts: number }

export async function opcacheFamilies(engine: Engine, process: number): Promise<MetricFamily[]> {
  if (!engine.info.opcache) return [];
  const request: PhpRequest = { method: 'GET', uri: '/', scriptFilename: SCRIPT, scriptName: '/opcache-status.php', documentRoot: path.dirname(SCRIPT) };
  const running = engine.execute(request); // gives the request its id
  const timer = setTimeout(() => engine.abort(request.id!, 'kill'), WAIT_MS);
  const r = await running.catch(() => null);
  clearTimeout(timer);
  if (!r) return [];
  if (r.aborted || r.status !== 200) return [];
  const s = JSON.parse(r.body.toString('utf8')) as OpcacheStatus | null;
  if (!s) return [];
  const labels = { process };
  return [
    gauge('opcache_memory_used_bytes', 'OPcache shared memory in use.', [{ value: s.used, labels }]),
    gauge('opcache_memory_free_bytes', 'OPcache shared memory free.', [{ value: s.free, labels }]),
    gauge('opcache_memory_wasted_bytes', 'OPcache shared memory held by scripts that changed (freed at the next restart).', [{ value: s.wasted, labels }]),
    gauge('opcache_cached_scripts', 'Scripts in OPcache.', [{ value: s.scripts, labels }]),
    gauge('opcache_hit_ratio', 'OPcache hits / (hits + misses) since the process started.', [{ value: s.hits + s.misses ? s.hits / (s.hits + s.misses) : 0, labels }]),
    counter('opcache_hits_total', 'Scripts served from OPcache.', [{ value: s.hits, labels }]),
    counter('opcache_misses_total', 'Scripts OPcache had to compile.', [{ value: s.misses, labels }]),
    counter('opcache_restarts_total', 'OPcache restarts (out of memory, hash full or asked for): each recompiles every script.', [{ value: s.restarts, labels }]),
  ];
}
