// Routing over real sockets: the order nginx + php-fpm follow, and no way out of the root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { startCli } from './helpers/cli.js';
import { FIXTURES } from './helpers/php.js';
import { get, raw, startServer, type Running } from './helpers/server.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-site-'));
const root = path.join(tmp, 'site');
let engine: Engine;
let site: Running;

before(async () => {
  cpSync(path.join(FIXTURES, 'site'), root, { recursive: true });
  // git keeps neither empty directories nor anything named .git
  mkdirSync(path.join(root, 'empty-dir'));
  mkdirSync(path.join(root, '.git'));
  writeFileSync(path.join(root, '.git/config'), '[core]\n');
  writeFileSync(path.join(tmp, 'outside.txt'), 'outside the root');
  symlinkSync(path.join(tmp, 'outside.txt'), path.join(root, 'escape.txt'));
  symlinkSync(path.join(root, 'hello.txt'), path.join(root, 'inside-link.txt'));
  engine = await Engine.start({ workers: 2, env: {}, logger: () => {} });
  site = await startServer(engine, { DOCUMENT_ROOT: root });
});
after(async () => {
  await site.close();
  await engine.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

const json = (b: Buffer) => JSON.parse(b.toString());

test('an existing script runs, with PATH_INFO after it', async () => {
  const r = await get(`${site.base}/info.php/extra/path?x=1`);
  assert.equal(r.status, 200);
  const s = json(r.body);
  assert.deepEqual([s.SCRIPT_NAME, s.PATH_INFO, s.PHP_SELF, s.REQUEST_URI, s.QUERY_STRING, s.SCRIPT_FILENAME, s.DOCUMENT_ROOT],
    ['/info.php', '/extra/path', '/info.php/extra/path', '/info.php/extra/path?x=1', 'x=1', path.join(root, 'info.php'), root]);
  assert.equal(s.REMOTE_ADDR, '127.0.0.1');
  assert.equal(s.SERVER_PORT, String(site.port));
  assert.equal(s.SERVER_NAME, '127.0.0.1');
  assert.equal(s.HTTP_HOST, `127.0.0.1:${site.port}`);
});

test('directories: index.php runs, else index.html is served, else 403; no slash → 301', async () => {
  assert.equal((await get(`${site.base}/with-php/`)).body.toString(), 'php index in with-php');
  const html = await get(`${site.base}/with-html/`);
  assert.equal(html.body.toString(), '<p>html index</p>\n');
  assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal((await get(`${site.base}/empty-dir/`)).status, 403);
  const redirect = await get(`${site.base}/with-php?a=b`);
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/with-php/?a=b');
  assert.equal(json((await get(`${site.base}/`)).body).SCRIPT_NAME, '/index.php');
});

test('traditional mode: a missing path is a 404, a missing script too', async () => {
  assert.equal((await get(`${site.base}/nope`)).status, 404);
  assert.equal((await get(`${site.base}/nope.php`)).status, 404);
  assert.equal((await get(`${site.base}/nope.php/x`)).status, 404);
});

test('front controller mode: unknown paths go to index.php with REQUEST_URI kept; missing *.php is 404', async () => {
  const fc = await startServer(engine, { DOCUMENT_ROOT: root, INDEX_FILE: 'index.php' });
  try {
    const r = await get(`${fc.base}/blog/2024/hello?page=2`);
    assert.equal(r.status, 200);
    const s = json(r.body);
    assert.deepEqual([s.SCRIPT_NAME, s.REQUEST_URI, s.QUERY_STRING, s.PATH_INFO, s.PHP_SELF],
      ['/index.php', '/blog/2024/hello?page=2', 'page=2', '', '/index.php']);
    assert.equal((await get(`${fc.base}/hello.txt`)).body.toString(), 'hello static\n');
    assert.equal((await get(`${fc.base}/missing.php`)).status, 404);
    // nginx's try_files $fastcgi_script_name =404: a missing script never reaches the front controller
    const missing = await get(`${fc.base}/missing.php/extra/path`);
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body.toString(), /SCRIPT_NAME/);
    assert.equal(json((await get(`${fc.base}/info.php/extra/path`)).body).PATH_INFO, '/extra/path');
    assert.equal(json((await get(`${fc.base}/info.php`)).body).SCRIPT_NAME, '/info.php');
  } finally {
    await fc.close();
  }
});

test('single-page app mode: unknown paths get index.html', async () => {
  writeFileSync(path.join(root, 'index.html'), '<div id=app></div>');
  const spa = await startServer(engine, { DOCUMENT_ROOT: root, INDEX_FILE: 'index.html' });
  try {
    const r = await get(`${spa.base}/some/client/route`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '<div id=app></div>');
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  } finally {
    await spa.close();
    unlinkSync(path.join(root, 'index.html'));
  }
});

test('new and deleted scripts are picked up at once, an edited one within OPcache\'s 2 s (php-fpm\'s default)', async () => {
  const file = path.join(root, 'edit.php');
  writeFileSync(file, '<?php echo "one";');
  assert.equal((await get(`${site.base}/edit.php`)).body.toString(), 'one');
  writeFileSync(file, '<?php echo "two, longer";');
  await new Promise((resolve) => setTimeout(resolve, 2100));
  assert.equal((await get(`${site.base}/edit.php`)).body.toString(), 'two, longer');
  unlinkSync(file);
  assert.equal((await get(`${site.base}/edit.php`)).status, 404);
});

test('with opcache.revalidate_freq=0 in php.ini an edited script is picked up at once', async () => {
  const ini = path.join(tmp, 'dev.ini');
  writeFileSync(ini, 'opcache.revalidate_freq=0\n');
  const file = path.join(root, 'edit-dev.php');
  writeFileSync(file, '<?php echo "one";');
  const dev = await startCli(['--docroot', root, '--workers', '1', '--php-ini', ini, '--internal', 'off']);
  try {
    assert.equal((await get(`http://127.0.0.1:${dev.port}/edit-dev.php`)).body.toString(), 'one');
    writeFileSync(file, '<?php echo "two, longer";');
    assert.equal((await get(`http://127.0.0.1:${dev.port}/edit-dev.php`)).body.toString(), 'two, longer');
  } finally {
    unlinkSync(file);
    dev.child.kill('SIGTERM');
    await dev.exited;
  }
});

test('no path escapes the document root', async () => {
  for (const p of ['/../outside.txt', '/%2e%2e/outside.txt', '/with-php/%2E%2E/%2e%2e/outside.txt', '/a/../../outside.txt']) {
    const reply = await raw(site.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 (400|404) /, p);
  }
  assert.match(await raw(site.port, 'GET /hello.txt%00.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /);
  // a backslash is an ordinary file-name byte on Linux: no traversal through it
  assert.equal((await get(`${site.base}/..%5coutside.txt`)).status, 403);
  assert.equal((await get(`${site.base}/with-php%5c..%5c..%5coutside.txt`)).status, 404);
  assert.equal((await get(`${site.base}/escape.txt`)).status, 404, 'a symlink out of the root');
  assert.equal((await get(`${site.base}/inside-link.txt`)).body.toString(), 'hello static\n');
});

test('symlinks out of the root are followed only when allowed', async () => {
  const open = await startServer(engine, { DOCUMENT_ROOT: root, SYMLINKS_OUTSIDE_ROOT: 'allow' });
  try {
    assert.equal((await get(`${open.base}/escape.txt`)).body.toString(), 'outside the root');
  } finally {
    await open.close();
  }
});

test('dotfiles and dot-directories are never served; .well-known is', async () => {
  assert.equal((await get(`${site.base}/.env`)).status, 403);
  assert.equal((await get(`${site.base}/.git/config`)).status, 403);
  assert.equal((await get(`${site.base}/with-php/../.env`)).status, 403);
  assert.equal((await get(`${site.base}/.well-known/acme.txt`)).body.toString(), 'challenge\n');
});

test('PHP source is never served', async () => {
  const r = await get(`${site.base}/secret.phtml`);
  assert.equal(r.status, 403);
  assert.doesNotMatch(r.body.toString(), /never as source/);
});
