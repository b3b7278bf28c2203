#!/usr/bin/env node
// README.md's table of contents, made from its ## and ### headings with GitHub's anchors, between
// the <!-- toc --> and <!-- /toc --> lines. npm test fails when it is out of date (test/docs.test.ts).
//   node test/tools/readme-toc.mjs           rewrites it in README.md
//   node test/tools/readme-toc.mjs --check   exits 1 when it is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const START = '<!-- toc -->';
const END = '<!-- /toc -->';

/** The headings outside code blocks (## and ### by default), with the anchors GitHub gives them. */
export function headings(markdown, minLevel = 2, maxLevel = 3) {
  const out = [];
  const seen = new Map();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) fence = !fence;
    const m = !fence && /^(#{1,6}) (.+?)\s*$/.exec(line);
    if (!m) continue;
    const text = m[2];
    // GitHub: lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats of any level
    let anchor = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(anchor) ?? 0;
    seen.set(anchor, n + 1);
    if (n) anchor += `-${n}`;
    if (m[1].length < minLevel || m[1].length > maxLevel) continue;
    out.push({ level: m[1].length, text: text.replace(/`/g, ''), anchor });
  }
  return out;
}

/** `markdown` with its table of contents made anew. */
export function withToc(markdown) {
  const start = markdown.indexOf(`${START}\n`);
  const end = markdown.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`README.md needs a ${START} line and a ${END} line`);
  const list = headings(markdown)
    .map((h) => `${h.level === 3 ? '  ' : ''}- [${h.text}](#${h.anchor})`)
    .join('\n');
  return `${markdown.slice(0, start)}${START}\n${list}\n${markdown.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('../../README.md', import.meta.url));
  const text = readFileSync(file, 'utf8');
  const fresh = withToc(text);
  if (process.argv.includes('--check')) {
    if (fresh !== text) {
      console.error('README.md: the table of contents is out of date: run node test/tools/readme-toc.mjs');
      process.exit(1);
    }
  } else if (fresh !== text) {
    writeFileSync(file, fresh);
    console.log('README.md: table of contents rewritten');
  }
}
