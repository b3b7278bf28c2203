// The tokio-php command as a real process (the supervisor and its server processes).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after } from 'node:test';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/package.js';

export const CLI = path.join(PACKAGE_ROOT, 'dist/src/cli.js');

/**
 * The environment the CLI runs with, under a test's own. Tests (and CI) run as root, where the
 * CLI refuses to run PHP unless told whom to run it as: these tests run it as root, as before.
 */
export const CLI_ENV: Record<string, string> = { PATH: process.env.PATH ?? '', ALLOW_RUN_AS_ROOT: '1' };

export interface RunningCli {
  child: ChildProcess;
  /** the first address's port (0 when it serves no HTTP on 127.0.0.1 first) */
  port: number;
  /** every address it listens on, as its log says them (http://127.0.0.1:PORT, http://unix:PATH) */
  listen: string[];
  /** the internal port (/health, /metrics, ...); 0 when off */
  internalPort: number;
  exited: Promise<number | null>;
  output: () => string;
  /** resolves once the output matches `pattern` `count` times in all */
  waitFor(pattern: RegExp, count?: number, timeoutMs?: number): Promise<void>;
}

// A test that fails before it stops its server must not leave it running: the test file would
// never end (CI's time limit is what would stop it).
const live = new Set<ChildProcess>();
after(() => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts the CLI on a free loopback port; resolves once it logs where it listens (in `logFile` if given). */
export async function startCli(args: string[], env: Record<string, string> = {}, logFile?: string): Promise<RunningCli> {
  // a port of its own for the internal server too, unless the test chooses
  const internal = args.includes('--internal') || env.INTERNAL_ADDR ? [] : ['--internal', '127.0.0.1:0'];
  const child = spawn(process.execPath, [CLI, '--listen', '127.0.0.1:0', ...internal, ...args], {
    env: { ...CLI_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  let printed = '';
  const output = () => printed + (logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const watchers = new Set<() => void>();
  const collect = (d: Buffer) => {
    printed += d.toString();
    for (const w of watchers) w();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = (pattern: RegExp, count = 1, timeoutMs = 30_000) => new Promise<void>((resolve, reject) => {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    const check = () => {
      if ((output().match(global)?.length ?? 0) >= count) {
        watchers.delete(check);
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      }
    };
    const poll = setInterval(check, 50); // a log file says nothing when it grows
    const timer = setTimeout(() => {
      watchers.delete(check);
      clearInterval(poll);
      reject(new Error(`no ${count}× ${pattern} in:\n${output()}`));
    }, timeoutMs);
    watchers.add(check);
    check();
  });
  const serving = waitFor(/"listen":\[/);
  await Promise.race([serving, exited.then((code) => { throw new Error(`exited ${code}: ${output()}`); })]);
  const listen = JSON.parse(/"listen":(\[[^\]]*\])/.exec(output())![1]) as string[];
  const port = Number(/^https?:\/\/127\.0\.0\.1:(\d+)$/.exec(listen[0])?.[1] ?? 0);
  const internalPort = Number(/"internal":"http:\/\/[^"]*:(\d+)"/.exec(output())?.[1] ?? 0);
  return { child, port, listen, internalPort, exited, output, waitFor };
}
