// Worker threads come and go; the engine starts, reports and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/index.js';
import { FIXTURES, phpRequest } from './helpers/php.js';

const root = path.join(FIXTURES, 'engine');

test('a worker thread that has served maxRequests is replaced and requests go on', async () => {
  const engine = await Engine.start({ workers: 1, maxRequests: 2, env: {} });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await engine.execute(phpRequest(root, '/worker.php'));
      assert.equal(res.status, 200);
    }
    const [w] = engine.stats().workers;
    assert.equal(w.requests, 5);
    assert.ok(w.threads >= 3, `threads: ${w.threads}`);
  } finally {
    await engine.shutdown();
  }
});

test('shutdown lets queued requests finish, then refuses new ones', async () => {
  const engine = await Engine.start({ workers: 1, env: {} });
  const pending = [1, 2, 3].map(() => engine.execute(phpRequest(root, '/worker.php')));
  await engine.shutdown();
  for (const res of await Promise.all(pending)) assert.equal(res.status, 200);
  await assert.rejects(engine.execute(phpRequest(root, '/worker.php')), /shut down/);
});

test('ini entries override the defaults; bad options stop the start with a reason', async () => {
  const engine = await Engine.start({ workers: 1, env: {}, ini: { precision: 7 } });
  try {
    const res = await engine.execute(phpRequest(root, '/worker.php'));
    assert.equal(JSON.parse(res.body.toString()).ini, '7');
    // the distribution's include_path, so apps from Debian's packages find /usr/share/php
    assert.equal((await engine.execute(phpRequest(root, '/include_path.php'))).body.toString(), '.:/usr/share/php');
  } finally {
    await engine.shutdown();
  }
  await assert.rejects(Engine.start({ workers: 0 }), /workers must be an integer from 1 to 1024/);
  await assert.rejects(Engine.start({ ini: { 'bad key': 1 } }), /invalid php.ini directive name: "bad key"/);
});

test('php.ini is read from iniPath and PHP_INI_SCAN_DIR, above the engine defaults', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tokio-ini-'));
  const scan = path.join(dir, 'conf.d');
  mkdirSync(scan);
  writeFileSync(path.join(dir, 'php.ini'), 'precision = 9\ndisplay_errors = On\nhtml_errors = Off\n');
  writeFileSync(path.join(scan, '90-tz.ini'), 'date.timezone = Europe/Paris\n');
  process.env.PHP_INI_SCAN_DIR = scan;
  const logs: string[] = [];
  const engine = await Engine.start({ workers: 1, env: {}, iniPath: path.join(dir, 'php.ini'), logger: (e) => logs.push(e.message) });
  delete process.env.PHP_INI_SCAN_DIR;
  try {
    const res = await engine.execute(phpRequest(root, '/worker.php'));
    const out = JSON.parse(res.body.toString());
    assert.equal(out.ini, '9');
    assert.equal(out.tz, 'Europe/Paris');
    // display_errors on: the error is shown and, as php-fpm does then, the status stays 200
    const fatal = await engine.execute(phpRequest(root, '/errors.php?case=fatal'));
    assert.equal(fatal.status, 200);
    assert.match(fatal.body.toString(), /^before \nFatal error: Uncaught Error: Call to undefined function undefined_function_tokio\(\)/);
    assert.match(logs.join('\n'), /PHP Fatal error:  Uncaught Error: Call to undefined function/);
  } finally {
    await engine.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one engine at a time: PHP is process-wide', async () => {
  const engine = await Engine.start({ workers: 1, env: {} });
  try {
    await assert.rejects(Engine.start({ workers: 1, env: {} }), /PHP is already running in this process/);
    assert.equal((await engine.execute(phpRequest(root, '/worker.php'))).status, 200);
  } finally {
    await engine.shutdown();
  }
});
