// native/fetch-php.sh against a local HTTP server standing in for Debian's pool and php.net:
// which source is tried, what is accepted, what is refused and what the user is told. No PHP build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/package.js';

const FETCH = path.join(PACKAGE_ROOT, 'native/fetch-php.sh');
const BUILD = path.join(PACKAGE_ROOT, 'native/build-php.sh');
const pin = readFileSync(path.join(PACKAGE_ROOT, 'native/php-version.env'), 'utf8');
const PINNED = /^PHP_VERSION=(.+)$/m.exec(pin)![1];
const PINNED_SHA = /^PHP_SHA256=(.+)$/m.exec(pin)![1];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TARBALL = Buffer.from('stands in for php-8.4.99.tar.xz\n');
const OTHER = Buffer.from('a tampered or truncated tarball\n');

const MAIN = '/debian/pool/main/p/php8.4/php8.4_8.4.99.orig.tar.xz';
const SECURITY = '/debian-security/pool/updates/main/p/php8.4/php8.4_8.4.99.orig.tar.xz';
const PHPNET = '/distributions/php-8.4.99.tar.xz';

/** What the stand-in mirror serves, per path; everything else is a 404. */
let files = new Map<string, Buffer>();
let requested: string[] = [];
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    requested.push(req.url!);
    const body = files.get(req.url!);
    res.writeHead(body ? 200 : 404).end(body ?? 'not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => server.close());

function serve(entries: Record<string, Buffer>) {
  files = new Map(Object.entries(entries));
  requested = [];
}

/** Runs a script asynchronously (the stand-in server lives in this process). */
function run(script: string, env: Record<string, string>, args: string[] = []) {
  const child = spawn('bash', [script, ...args], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, PHP_DEBIAN_MIRROR: base, PHP_MIRROR: base, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const fetch = (env: Record<string, string>) => run(FETCH, env, [mkdtempSync(path.join(tmpdir(), 'tokio-fetch-'))]);
const ANOTHER = { PHP_VERSION: '8.4.99', PHP_SHA256: sha256(TARBALL) };

test('the tarball from Debian\'s main pool is verified and its path printed; nothing else is asked', async () => {
  serve({ [MAIN]: TARBALL, [PHPNET]: OTHER });
  const r = await fetch(ANOTHER);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').at(-1)!;
  assert.match(out, /\/php-8\.4\.99\.tar\.xz$/);
  assert.deepEqual(readFileSync(out), TARBALL);
  assert.deepEqual(requested, [MAIN]);
  assert.match(r.stderr, new RegExp(`fetched ${base}${MAIN}\n`));
});

test('a 404 moves on to the next source, one line each: main pool, security pool, php.net', async () => {
  serve({ [PHPNET]: TARBALL });
  const r = await fetch(ANOTHER);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(requested, [MAIN, SECURITY, PHPNET]);
  assert.deepEqual(readFileSync(r.stdout.trim()), TARBALL);
  const tried = r.stderr.split('\n').filter((l) => l.includes('tried '));
  assert.deepEqual(tried, [
    `[tokio-php] tried ${base}${MAIN}: HTTP 404`,
    `[tokio-php] tried ${base}${SECURITY}: HTTP 404`,
  ]);
});

test('a checksum mismatch is refused, naming both sums and the URL, and is never kept', async () => {
  serve({ [MAIN]: OTHER, [SECURITY]: TARBALL });
  const r = await fetch(ANOTHER);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(
    `[tokio-php] error: checksum mismatch for ${base}${MAIN}: expected sha256 ${sha256(TARBALL)}, got ${sha256(OTHER)}\n`), r.stderr);
  assert.deepEqual(readFileSync(r.stdout.trim()), TARBALL);
  assert.match(r.stderr, new RegExp(`fetched ${base}${SECURITY}`));
});

test('when no source works, the last lines say how to build offline or use an existing build, and it exits 1', async () => {
  serve({ [MAIN]: OTHER });
  const r = await fetch({ ...ANOTHER, PHP_MIRROR: 'http://127.0.0.1:1' });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.match(lines.find((l) => l.includes('127.0.0.1:1'))!, /^\[tokio-php\] tried http:\/\/127\.0\.0\.1:1\/distributions\/php-8\.4\.99\.tar\.xz: Failed to connect/);
  assert.deepEqual(lines.slice(-5, -1), [
    `[tokio-php] To build offline, copy php-8.4.99.tar.xz (sha256 ${sha256(TARBALL)}) to this machine and run:`,
    '[tokio-php]   PHP_TARBALL=/path/to/php-8.4.99.tar.xz npm install',
    '[tokio-php] Or use an existing ZTS build of PHP 8.4 with the embed SAPI:',
    '[tokio-php]   PHP_CONFIG=/path/to/php-config npm install',
  ]);
});

test('by default the pinned version is asked for and checked against the pinned SHA-256', async () => {
  const main = `/debian/pool/main/p/php8.4/php8.4_${PINNED}.orig.tar.xz`;
  serve({ [main]: OTHER });
  const r = await fetch({});
  assert.equal(r.code, 1);
  assert.equal(requested[0], main);
  assert.ok(r.stderr.includes(`checksum mismatch for ${base}${main}: expected sha256 ${PINNED_SHA}, got ${sha256(OTHER)}`), r.stderr);
});

test('PHP_TARBALL is the only source, and is verified too', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokio-tarball-'));
  const good = path.join(dir, 'php-8.4.99.tar.xz');
  const bad = path.join(dir, 'other.tar.xz');
  writeFileSync(good, TARBALL);
  writeFileSync(bad, OTHER);
  serve({ [MAIN]: TARBALL });

  const ok = await fetch({ ...ANOTHER, PHP_TARBALL: good });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `${good}\n`);

  const refused = await fetch({ ...ANOTHER, PHP_TARBALL: bad });
  assert.equal(refused.code, 1);
  assert.ok(refused.stderr.includes(
    `checksum mismatch for PHP_TARBALL=${bad}: expected sha256 ${sha256(TARBALL)}, got ${sha256(OTHER)}`), refused.stderr);
  assert.match(refused.stderr, /set PHP_VERSION \(and PHP_SHA256\)/);
  assert.deepEqual(requested, []);
});

test('another version without PHP_SHA256 takes its checksum from Debian\'s .dsc, or is refused saying how to give one', async () => {
  const dsc = Buffer.from([
    'Format: 3.0 (quilt)', 'Source: php8.4', 'Version: 8.4.99-1', 'Checksums-Sha256:',
    ` ${sha256(OTHER)} 123 php8.4_8.4.99-1.debian.tar.xz`,
    ` ${sha256(TARBALL)} ${TARBALL.length} php8.4_8.4.99.orig.tar.xz`, 'Files:', ' 0 0 x', '',
  ].join('\n'));
  serve({ '/debian/pool/main/p/php8.4/php8.4_8.4.99-1.dsc': dsc, [PHPNET]: TARBALL });
  const r = await fetch({ PHP_VERSION: '8.4.99' });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`PHP 8.4.99: sha256 ${sha256(TARBALL)} from Debian's .dsc`), r.stderr);
  assert.deepEqual(readFileSync(r.stdout.trim()), TARBALL);

  serve({ [PHPNET]: TARBALL });
  const refused = await fetch({ PHP_VERSION: '8.4.99' });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /error: no checksum for PHP 8\.4\.99\. Set PHP_SHA256 to the SHA-256 of php-8\.4\.99\.tar\.xz/);
  assert.ok(!requested.includes(PHPNET), 'nothing is downloaded without a checksum');

  const invalid = await fetch({ PHP_VERSION: '8.4' });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /PHP_VERSION="8\.4" is not valid: expected a release like \d+\.\d+\.\d+/);
});

test('a cached PHP build is found with no network at all', async () => {
  // The install that built this checkout's addon went through build-php.sh: asked again with every
  // mirror unreachable, it must answer the same php-config from its cache (or PHP_CONFIG).
  const installed = readFileSync(path.join(PACKAGE_ROOT, 'native/.php-config'), 'utf8').trim();
  serve({});
  const env: Record<string, string> = { PHP_DEBIAN_MIRROR: 'http://127.0.0.1:1', PHP_MIRROR: 'http://127.0.0.1:1' };
  for (const k of ['TOKIO_PHP_CACHE', 'XDG_CACHE_HOME', 'PHP_CONFIG', 'PHP_VERSION']) {
    if (process.env[k]) env[k] = process.env[k]!;
  }
  const r = await run(BUILD, env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').at(-1), installed);
  assert.doesNotMatch(r.stderr, /tried|fetching/);
  assert.deepEqual(requested, []);
});

test('the README names the pinned PHP version and no other 8.4 release as the one built', () => {
  const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Which PHP is built'), readme.indexOf('| variable | effect |'));
  assert.match(section, new RegExp(`builds PHP ${PINNED.replaceAll('.', '\\.')} ZTS`));
  assert.deepEqual([...new Set(section.match(/\b8\.4\.\d+\b/g))], [PINNED]);
});
