// The router's file cache on real files and real inotify: a steady path is looked up once, and
// every kind of change is seen by the first lookup after the event loop has turned (a request
// always arrives after such a turn).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileCache } from '../src/router/file-cache.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-files-'));
const root = path.join(tmp, 'root');
let cache: FileCache;
// a whole turn of the event loop, its poll phase (where inotify's events are read) included
const turn = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

before(() => {
  mkdirSync(path.join(root, 'a/b'), { recursive: true });
  writeFileSync(path.join(root, 'a/b/file.txt'), 'one');
  writeFileSync(path.join(tmp, 'outside.txt'), 'outside');
  cache = new FileCache({ root, realRoot: root, symlinksOutsideRoot: false });
});
after(() => {
  cache.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('an unchanged file is stat-ed once; an edit, a chmod and a delete are seen at the next turn', async () => {
  const file = path.join(root, 'a/b/file.txt');
  const first = cache.stat(file);
  assert.equal(first?.size, 3);
  assert.equal(cache.stat(file), first, 'the same Stats object: no second stat');
  writeFileSync(file, 'longer');
  await turn();
  assert.equal(cache.stat(file)?.size, 6);
  chmodSync(file, 0o600);
  await turn();
  assert.equal(cache.stat(file)!.mode & 0o777, 0o600);
  unlinkSync(file);
  await turn();
  assert.equal(cache.stat(file), undefined);
  writeFileSync(file, 'back');
  await turn();
  assert.equal(cache.stat(file)?.size, 4);
});

test('a missing path is remembered until its directories and file appear', async () => {
  const file = path.join(root, 'new/deeper/page.html');
  assert.equal(cache.stat(file), undefined);
  assert.equal(cache.stat(file), undefined);
  mkdirSync(path.join(root, 'new/deeper'), { recursive: true });
  writeFileSync(file, '<p>');
  await turn();
  assert.equal(cache.stat(file)?.size, 3);
});

test('a renamed or replaced directory is followed by path, not by the old directory', async () => {
  mkdirSync(path.join(root, 'old'));
  writeFileSync(path.join(root, 'old/x.txt'), 'x');
  const moved = path.join(root, 'old/x.txt');
  assert.equal(cache.stat(moved)?.size, 1);
  renameSync(path.join(root, 'old'), path.join(root, 'gone'));
  await turn();
  assert.equal(cache.stat(moved), undefined);
  assert.equal(cache.stat(path.join(root, 'gone/x.txt'))?.size, 1);
  // a new directory of the same name: changes in it are seen too
  mkdirSync(path.join(root, 'old'));
  writeFileSync(moved, 'xy');
  await turn();
  assert.equal(cache.stat(moved)?.size, 2);
  writeFileSync(moved, 'xyz');
  await turn();
  assert.equal(cache.stat(moved)?.size, 3);
});

test('a directory looked up with a trailing slash stays a directory; a file with one is not found', async () => {
  assert.equal(cache.stat(path.join(root, 'a') + '/')?.isDirectory(), true);
  assert.equal(cache.stat(root + '/')?.isDirectory(), true);
  writeFileSync(path.join(root, 'plain.txt'), 'p');
  assert.equal(cache.stat(path.join(root, 'plain.txt') + '/'), undefined);
  assert.equal(cache.stat(path.join(root, 'plain.txt'))?.isFile(), true);
});

test('symlinks: one out of the root is refused, one retargeted is followed at once', async () => {
  symlinkSync(path.join(tmp, 'outside.txt'), path.join(root, 'escape.txt'));
  assert.equal(cache.stat(path.join(root, 'escape.txt')), undefined);
  writeFileSync(path.join(root, 'target-1.txt'), '1');
  writeFileSync(path.join(root, 'target-22.txt'), '22');
  const link = path.join(root, 'link.txt');
  symlinkSync(path.join(root, 'target-1.txt'), link);
  assert.equal(cache.stat(link)?.size, 1);
  // a symlinked path is looked up every time: its target's directory may be anywhere
  writeFileSync(path.join(root, 'target-1.txt'), '111');
  assert.equal(cache.stat(link)?.size, 3);
});

test('a document root that is a symlink flipped to a new release serves the new release', async () => {
  for (const r of ['r1', 'r2']) {
    mkdirSync(path.join(tmp, r));
    writeFileSync(path.join(tmp, r, 'index.php'), r);
  }
  writeFileSync(path.join(tmp, 'r2', 'only-in-r2.txt'), 'new');
  const current = path.join(tmp, 'current');
  symlinkSync(path.join(tmp, 'r1'), current);
  const releases = new FileCache({ root: current, realRoot: path.join(tmp, 'r1'), symlinksOutsideRoot: true });
  try {
    assert.equal(releases.stat(path.join(current, 'index.php'))?.size, 2);
    assert.equal(releases.stat(path.join(current, 'only-in-r2.txt')), undefined);
    symlinkSync(path.join(tmp, 'r2'), current + '.new');
    renameSync(current + '.new', current); // the atomic flip deploy tools do
    await turn();
    assert.equal(releases.stat(path.join(current, 'only-in-r2.txt'))?.size, 3);
  } finally {
    releases.close();
  }
});
