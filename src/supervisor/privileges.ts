// Which user PHP runs as, as php-fpm decides it. Started as root, the supervisor keeps root (it
// owns the listening sockets, bound before any server process starts, so ports below 1024 work)
// and every server process gives it up for good before PHP starts: supplementary groups
// (initgroups), then the group, then the user. Started as root without USER, PHP would run as
// root: refused unless ALLOW_RUN_AS_ROOT=1 (php-fpm's --allow-to-run-as-root); `npm start` in
// this repository picks an unprivileged user instead, if one can read what the server needs.
import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, type Config, type SocketFiles } from '../config/config.js';
import { PACKAGE_ROOT } from '../package.js';

export interface RunAs {
  user: string;
  uid: number;
  group: string;
  gid: number;
  /** the user has an entry in the user database (initgroups needs one) */
  named: boolean;
}

/** What startup decided: drop to `runAs`, or stay (null); `note` is said in the log. */
export interface Decision {
  runAs: RunAs | null;
  note?: { level: 'info' | 'warn'; message: string };
}

/** The users `npm start` tries, in order: Debian's web server user, then the universal one. */
const NPM_START_USERS = ['www-data', 'nobody'];

interface Entry { name: string; id: number; gid: number }

/** A passwd or group entry by name or number, from the system's databases (NSS, via getent). */
function lookup(database: 'passwd' | 'group', key: string): Entry | null {
  const r = spawnSync('getent', [database, key], { encoding: 'utf8' });
  let line: string | undefined;
  if (r.error) {
    // no getent (a minimal image): the files themselves
    const text = readFileSync(`/etc/${database}`, 'utf8');
    line = text.split('\n').find((l) => { const f = l.split(':'); return f[0] === key || f[2] === key; });
  } else {
    line = r.status === 0 ? r.stdout.split('\n')[0] : undefined;
  }
  if (!line) return null;
  const f = line.split(':');
  return { name: f[0], id: Number(f[2]), gid: database === 'passwd' ? Number(f[3]) : Number(f[2]) };
}

function resolveGroup(text: string): { group: string; gid: number } {
  const entry = lookup('group', text);
  if (entry) return { group: entry.name, gid: entry.id };
  if (/^\d+$/.test(text)) return { group: text, gid: Number(text) };
  throw new ConfigError(`GROUP=${JSON.stringify(text)} is not valid: no such group on this system (expected a group name or gid)`);
}

function resolveUser(text: string, groupText: string | undefined): RunAs {
  const entry = lookup('passwd', text);
  if (!entry && !/^\d+$/.test(text)) throw new ConfigError(`USER=${JSON.stringify(text)} is not valid: no such user on this system (expected a user name or uid)`);
  if (!entry && groupText === undefined) throw new ConfigError(`USER=${text} is a uid with no entry in the user database: set GROUP too`);
  const { group, gid } = groupText !== undefined ? resolveGroup(groupText)
    : { gid: entry!.gid, group: lookup('group', String(entry!.gid))?.name ?? String(entry!.gid) };
  return { user: entry?.name ?? text, uid: entry?.id ?? Number(text), group, gid, named: entry !== null };
}

/** What the server processes open after giving up root, each with the variable that names it. */
function neededPaths(config: Config): { name: string; path: string; mode: number }[] {
  const read = constants.R_OK;
  const list = [
    { name: 'DOCUMENT_ROOT', path: config.documentRoot, mode: read | constants.X_OK },
    // HTTP_THREADS load its code in each new event loop; PHP runs its OPcache status script
    { name: 'the tokio-php installation', path: PACKAGE_ROOT, mode: read | constants.X_OK },
  ];
  if (config.tlsCert) list.push({ name: 'TLS_CERT', path: path.resolve(config.tlsCert), mode: read });
  if (config.tlsKey) list.push({ name: 'TLS_KEY', path: path.resolve(config.tlsKey), mode: read });
  if (config.phpIniPath) list.push({ name: 'PHP_INI_PATH', path: path.resolve(config.phpIniPath), mode: read });
  if (config.errorPagesDir) list.push({ name: 'ERROR_PAGES_DIR', path: config.errorPagesDir, mode: read | constants.X_OK });
  for (const w of config.workerScripts) list.push({ name: 'WORKER_SCRIPT', path: w.filename, mode: read });
  // HTTP threads open LOG_FILE (made theirs by prepareLogFile) as the user
  if (config.logFile) list.push({ name: 'the directory of LOG_FILE', path: path.dirname(config.logFile), mode: constants.X_OK });
  // request bodies larger than BODY_BUFFER_SIZE are spooled there, and PHP's uploads go there
  list.push({ name: 'TMPDIR', path: os.tmpdir(), mode: constants.W_OK | constants.X_OK });
  return list;
}

/** Gives up root for good: supplementary groups, group, user — in that order. */
export function dropPrivileges(runAs: RunAs): void {
  // POSIX only, hence optional in Node's types; this runs on Linux
  const p = process as unknown as {
    initgroups(user: string, extraGroup: number): void; setgroups(groups: number[]): void;
    setgid(id: number): void; setuid(id: number): void;
  };
  if (runAs.named) p.initgroups(runAs.user, runAs.gid);
  else p.setgroups([runAs.gid]);
  p.setgid(runAs.gid);
  p.setuid(runAs.uid);
}

/** The paths of `neededPaths` that `runAs` cannot use, checked by a process that drops as a server process does. */
function unreadable(runAs: RunAs, config: Config): { name: string; path: string; mode: number }[] {
  const paths = neededPaths(config);
  const script = `
    const [runAs, paths] = JSON.parse(process.argv[1]);
    if (runAs.named) process.initgroups(runAs.user, runAs.gid); else process.setgroups([runAs.gid]);
    process.setgid(runAs.gid);
    process.setuid(runAs.uid);
    const fs = require('node:fs');
    process.stdout.write(JSON.stringify(paths.filter((p) => { try { fs.accessSync(p.path, p.mode); return false; } catch { return true; } })));
  `;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify([runAs, paths])], { encoding: 'utf8', env: {} });
  if (r.status !== 0) throw new Error(`cannot check what user ${runAs.user} can read: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as ReturnType<typeof unreadable>;
}

function describe(paths: { name: string; path: string; mode: number }[]): string {
  return paths.map((p) => `${p.mode & constants.W_OK ? 'write to' : 'read'} ${p.name} ${p.path}`).join(', ');
}

/**
 * Started as `euid`: whom the server processes run PHP as. Throws ConfigError when PHP would run
 * as root unasked, when USER or GROUP names nobody, or when USER cannot read what the server needs.
 * `npmStart`: `npm start` in this repository, which picks an unprivileged user rather than refuse.
 */
export function decideRunAs(config: Config, npmStart: boolean, euid = process.geteuid!(), egid = process.getegid!()): Decision {
  const wanted = config.user === undefined ? undefined : resolveUser(config.user, config.group);
  if (euid !== 0) {
    const me = currentUser();
    if (wanted && wanted.uid !== euid) {
      throw new ConfigError(`USER=${wanted.user}: tokio-php runs as ${me} (uid ${euid}) and cannot switch to another user without root: `
        + `leave USER unset, set USER=${me}, or start it as root`);
    }
    const group = config.group === undefined ? undefined : wanted ?? resolveGroup(config.group);
    if (group && group.gid !== egid) {
      throw new ConfigError(`GROUP=${group.group}: tokio-php runs with group ${egid} and cannot switch to another group without root: `
        + 'leave GROUP unset, or start it as root');
    }
    return { runAs: null };
  }
  if (wanted && wanted.uid !== 0) {
    const missing = unreadable(wanted, config);
    if (missing.length) {
      throw new ConfigError(`USER=${wanted.user} cannot ${describe(missing)}: give ${wanted.user} access, `
        + `or set USER=<name> (a user who can ${describe(missing)})`);
    }
    return { runAs: wanted };
  }
  if (config.group !== undefined && !wanted) throw new ConfigError('GROUP needs USER: set USER too (the user PHP runs as)');
  if (config.allowRunAsRoot) {
    return { runAs: null, note: { level: 'warn', message: 'PHP runs as root (ALLOW_RUN_AS_ROOT=1): set USER to run it as an unprivileged user' } };
  }
  const asked = config.user === undefined ? 'started as root without USER' : `USER=${config.user} is root`;
  if (!npmStart) {
    throw new ConfigError(`${asked}: PHP will not run as root. Set USER=<name> (and GROUP=<group>, default the user's primary group) `
      + 'to run PHP as that user, as php-fpm\'s user and group do, or ALLOW_RUN_AS_ROOT=1 to run it as root');
  }
  let missing = neededPaths(config).slice(0, 1);
  const tried: string[] = [];
  for (const name of NPM_START_USERS) {
    const entry = lookup('passwd', name);
    if (!entry || entry.id === 0) continue;
    const runAs = resolveUser(entry.name, undefined);
    const cannot = unreadable(runAs, config);
    if (!cannot.length) {
      return { runAs, note: { level: 'info', message: `npm start as root: PHP runs as ${runAs.user} (USER=<name> chooses the user, ALLOW_RUN_AS_ROOT=1 runs PHP as root)` } };
    }
    if (!tried.length) missing = cannot;
    tried.push(runAs.user);
  }
  throw new ConfigError(`${asked}, and PHP will not run as root; ${tried.join(' or ') || 'no unprivileged user'} cannot ${describe(missing)}: `
    + `set USER=<name> (a user who can ${describe(missing)}) or ALLOW_RUN_AS_ROOT=1`);
}

/**
 * Whom Unix socket files belong to (-1: left as made): LISTEN_SOCKET_OWNER and LISTEN_SOCKET_GROUP
 * for LISTEN_ADDR's, FASTCGI_SOCKET_OWNER and _GROUP for FASTCGI_LISTEN's, each by default the user
 * and group PHP runs as when tokio-php gives up
 * root for them, as php-fpm's Debian pool gives its socket to its user: with the default mode
 * 0660, a web server running as that user (nginx's www-data) connects. Otherwise, tokio-php's own.
 */
export function socketOwner(files: SocketFiles, runAs: RunAs | null): { uid: number; gid: number } {
  const { owner, group, variables: [, ownerVariable, groupVariable] } = files;
  const id = (database: 'passwd' | 'group', text: string, variable: string, accepts: string) => {
    const entry = lookup(database, text);
    if (entry) return entry.id;
    if (/^\d+$/.test(text)) return Number(text);
    throw new ConfigError(`${variable}=${JSON.stringify(text)} is not valid: no such ${database === 'passwd' ? 'user' : 'group'} on this system (expected ${accepts})`);
  };
  return {
    uid: owner === undefined ? runAs?.uid ?? -1 : id('passwd', owner, ownerVariable, 'a user name or uid'),
    gid: group === undefined ? runAs?.gid ?? -1 : id('group', group, groupVariable, 'a group name or gid'),
  };
}

/** This process's user name, or its uid when the user database has none (a container run with --user 12345). */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.geteuid?.());
  }
}

/** `npm start` in this repository (not in a project that merely depends on tokio-php). */
export function isNpmStart(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.npm_lifecycle_event === 'start' && env.npm_package_name === 'tokio-php';
}

/** How the supervisor hands the decision to each server process (an internal variable, as TOKIO_PROCESS_INDEX). */
export const RUN_AS_ENV = 'TOKIO_RUN_AS';

export function runAsFromEnv(env: NodeJS.ProcessEnv = process.env): RunAs | null {
  const text = env[RUN_AS_ENV];
  return text ? JSON.parse(text) as RunAs : null;
}

/**
 * LOG_FILE, made (if missing) and given to `runAs`, as nginx gives its logs to its workers' user:
 * server processes open it as that user (their HTTP threads do, and all of them on SIGUSR1).
 */
export function prepareLogFile(file: string, runAs: RunAs): void {
  closeSync(openSync(file, 'a'));
  chownSync(file, runAs.uid, runAs.gid);
}
