// What the README and the deployment files promise about themselves: a table of contents that
// matches the headings, links that land, and one image name and tag everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/package.js';

const read = (file: string) => readFileSync(path.join(PACKAGE_ROOT, file), 'utf8');
/** docker/examples/NAME: each a Dockerfile built FROM the image */
const examples = () => existsSync(path.join(PACKAGE_ROOT, 'docker/examples'))
  ? readdirSync(path.join(PACKAGE_ROOT, 'docker/examples'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
  : [];
const readme = read('README.md');

interface TocTool {
  headings: (markdown: string, minLevel?: number, maxLevel?: number) => { level: number; text: string; anchor: string }[];
  withToc: (markdown: string) => string;
}
// plain JavaScript, so that it runs without a build: node test/tools/readme-toc.mjs
const toc = (): Promise<TocTool> => import(path.join(PACKAGE_ROOT, 'test/tools/readme-toc.mjs'));

test('README.md: the table of contents lists every ## and ### heading (node test/tools/readme-toc.mjs rewrites it)', async () => {
  const { withToc } = await toc();
  assert.equal(readme, withToc(readme), 'the table of contents is out of date: run node test/tools/readme-toc.mjs');
});

test('README.md: every #anchor link names a heading', async () => {
  const { headings } = await toc();
  const anchors = new Set(headings(readme, 1, 6).map((h) => h.anchor));
  const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 0);
  for (const link of links) assert.ok(anchors.has(link), `README.md links to #${link}, which no heading makes`);
});

test("the image is tokio-php:<package.json's version> in the README, Compose, Kubernetes, the examples and docker/test.sh", () => {
  const { version } = JSON.parse(read('package.json')) as { version: string };
  const files = ['README.md', 'Dockerfile', 'docker/compose.yml', 'docker/replicas/compose.yml', 'docker/test.sh',
    ...readdirSync(path.join(PACKAGE_ROOT, 'docker/kubernetes')).map((f) => `docker/kubernetes/${f}`),
    ...examples().map((name) => `docker/examples/${name}/Dockerfile`)];
  for (const file of files) {
    const text = read(file);
    // every tag given to the image, and no image name without one in a file that runs it
    for (const m of text.matchAll(/\btokio-php:([\w.$-]+)/g)) {
      if (m[1].startsWith('$')) continue; // docker/test.sh: tokio-php:$version, read from package.json
      assert.equal(m[1], version, `${file}: tokio-php:${m[1]}, not tokio-php:${version}`);
    }
    for (const m of text.matchAll(/^\s*image: (\S+)/gm)) assert.equal(m[1], `tokio-php:${version}`, `${file}: image: ${m[1]}`);
  }
  assert.match(read('Dockerfile'), new RegExp(`^ARG VERSION=${version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(readme, new RegExp(`docker build -t tokio-php:${version.replace(/\./g, '\\.')} -t tokio-php \\.`));
  for (const name of examples()) {
    assert.match(read(`docker/examples/${name}/Dockerfile`), new RegExp(`^ARG BASE=tokio-php:${version.replace(/\./g, '\\.')}$`, 'm'));
  }
});
