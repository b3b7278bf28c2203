// Precompressed siblings (nginx's gzip_static, brotli_static): app.css.br or app.css.gz beside
// app.css is sent in its place to a client that accepts the coding. Whether a sibling exists is
// looked up again at most once a second per file (nginx's open_file_cache_valid).
import { statSync, type Stats } from 'node:fs';
import { negotiate, type Coding } from '../middleware/compression.js';

const VALID_MS = 1_000;
const MAX_ENTRIES = 10_000;
const SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };

interface Known { checkedAt: number; siblings: Partial<Record<Coding, Stats>> }
const known = new Map<string, Known>();

function siblingsOf(file: string, offered: readonly Coding[]): Known['siblings'] {
  const now = Date.now();
  const hit = known.get(file);
  if (hit && now - hit.checkedAt < VALID_MS) return hit.siblings;
  const siblings: Known['siblings'] = {};
  for (const coding of offered) {
    const stat = statSync(file + SUFFIX[coding], { throwIfNoEntry: false });
    if (stat?.isFile()) siblings[coding] = stat;
  }
  if (known.size >= MAX_ENTRIES) known.clear();
  known.set(file, { checkedAt: now, siblings });
  return siblings;
}

/** The sibling to send for `file`, or null: none exists, or the client accepts none. */
export function precompressedSibling(file: string, acceptEncoding: string, offered: readonly Coding[]): { coding: Coding; file: string; stat: Stats } | null {
  const siblings = siblingsOf(file, offered);
  const have = offered.filter((c) => siblings[c]);
  if (!have.length) return null;
  const coding = negotiate(acceptEncoding, have);
  return coding ? { coding, file: file + SUFFIX[coding], stat: siblings[coding]! } : null;
}
