// The one place where configuration is read and checked: environment variables, then CLI flags
// over them. A bad value stops startup with a message naming the variable and what it accepts.
import os from 'node:os';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { parseTrustedProxies, type TrustedProxies } from '../middleware/client-address.js';
import type { RateLimit } from '../middleware/rate-limit.js';
import type { StaticCache } from '../middleware/static-cache.js';
import type { Coding } from '../middleware/compression.js';
import type { PoolManager } from '../engine/engine.js';
import { PACKAGE_ROOT } from '../package.js';

export const DEMO_ROOT = path.join(PACKAGE_ROOT, 'public');

/** Where a transport listens: an IP address and port, or a Unix socket's path. */
export type ListenAddress = { host: string; port: number } | { path: string };

/** A listening Unix socket's file: its mode, owner and group (names or ids; undefined: see socketOwner), and the variables that set them */
export interface SocketFiles {
  mode: number;
  owner?: string;
  group?: string;
  variables: [mode: string, owner: string, group: string];
}

export interface Config {
  /** LISTEN_ADDR: each address gets a listening socket of its own, all served by HTTP */
  listen: ListenAddress[];
  /** FastCGI listening addresses (FASTCGI_LISTEN); none: no FastCGI */
  fastcgiListen: ListenAddress[];
  /** the addresses FastCGI accepts TCP connections from (php-fpm's listen.allowed_clients); null: any */
  fastcgiAllowedClients: BlockList | null;
  /** the files of Unix sockets in `listen`: their mode, and owner and group (names or ids; undefined: see socketOwner) */
  listenSocket: SocketFiles;
  /** the same for FASTCGI_LISTEN's Unix sockets (php-fpm's listen.mode, listen.owner, listen.group) */
  fastcgiSocket: SocketFiles;
  documentRoot: string;
  /** '' = traditional (scripts by path); 'index.php' = front controller; 'index.html' = SPA */
  indexFile: string;
  /** PHP threads in all, shared out among the server processes */
  workers: number;
  /** server processes under the supervisor */
  processes: number;
  /** event loops serving HTTP in each server process, all feeding its one PHP pool */
  httpThreads: number;
  /** requests that may wait for a thread, in all */
  queueCapacity: number;
  /** ms; 0 = off */
  requestTimeout: number;
  /** ms; 0 = off: a PHP request running longer is logged once, with its backtrace (php-fpm's request_slowlog_timeout) */
  slowlogTimeout: number;
  maxBodySize: number;
  /** bodies larger than this are spooled to a temporary file */
  bodyBufferSize: number;
  /** ms: the longest wait between two reads of a request body before 408 */
  bodyTimeout: number;
  /** ms: the longest a connection's first request head may take to arrive whole */
  headerTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
  /** HTTP/2 beside HTTP/1: h2c with prior knowledge on the plain port, h2 by ALPN over TLS */
  http2: boolean;
  /** the oldest TLS a client may speak */
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  phpIniPath?: string;
  /** ms */
  drainTimeout: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** JSON log lines go here instead of stdout; SIGUSR1 reopens it */
  logFile?: string;
  symlinksOutsideRoot: boolean;
  /** ext: native superglobals; eval: superglobals as PHP code; stub: no PHP, a fixed answer */
  executor: 'ext' | 'eval' | 'stub';
  /** what PHP's max_execution_time counts */
  executionTimeClock: 'cpu' | 'wall';
  /** ms; 0 = off: the longest an event stream may last */
  sseTimeout: number;
  /** ms: the most one tokio_request_heartbeat() may grant */
  heartbeatMax: number;
  /** the Server header of responses whose script sends none; '' = none */
  serverHeader: string;
  /** /health, /ready, /metrics and /status, served by the supervisor; null = off */
  internal: { host: string; port: number } | null;
  /**
   * the bearer token the internal port's state-changing endpoints (POST /workers/restart) require;
   * null: they answer loopback clients only. Never logged, and kept from the server processes.
   */
  adminToken: string | null;
  /** one JSON line per request */
  accessLog: boolean;
  /** ms; 0 = off: the longest a PHP request may wait for a worker before 503 */
  queueTimeout: number;
  /** per client address; null = off */
  rateLimit: RateLimit | null;
  /** peers whose X-Forwarded-For / Forwarded name the client; null = none */
  trustedProxies: TrustedProxies | null;
  /** caching headers on static files; null = none */
  staticCache: StaticCache | null;
  /** the site's own error pages; null = the server's short answers */
  errorPagesDir: string | null;
  /** codings offered, in order of preference; [] = no compression */
  compression: Coding[];
  /** worker mode (WORKER_SCRIPT): scripts booted once per thread; [] = classic mode only */
  workerScripts: WorkerScriptConfig[];
  /** threads of each worker script, in all (shared out among the processes like `workers`) */
  workerThreads: number;
  workerMaxRequests: number;
  /** classic PHP threads are replaced after this many requests (php-fpm's pm.max_requests); 0 never */
  maxRequests: number;
  /** php-fpm's pm for the classic threads, its counts in all (shared out among the processes like `workers`) */
  pm: PoolManager;
  /** bytes; 0 = off */
  workerMaxMemory: number;
  workerMaxFailures: number;
  /** globs of files whose change restarts the worker scripts; [] = no watching */
  workerWatch: string[];
  /** the user PHP runs as when started as root (src/supervisor/privileges.ts); undefined = none named */
  user?: string;
  /** its group; undefined = the user's primary group */
  group?: string;
  /** started as root without USER: run PHP as root rather than refuse (php-fpm's --allow-to-run-as-root) */
  allowRunAsRoot: boolean;
}

export interface WorkerScriptConfig {
  /** absolute path */
  filename: string;
  /** its URL path when inside the document root, else "/" + its name */
  name: string;
  /** URL paths it takes whatever the router finds (static files aside): "/api/*" or an exact path; null = the requests that reach it */
  match: string | null;
}

export class ConfigError extends Error {}

interface Setting {
  env: string;
  /** '' = none: the variable alone (a secret, which a command line would show to every user) */
  flag: string;
  accepts: string;
  help: string;
}

const SETTINGS = {
  listen: { env: 'LISTEN_ADDR', flag: '--listen', accepts: 'HOST:PORT, [IPv6]:PORT or unix:/absolute/path, several separated by commas, e.g. 0.0.0.0:8080 or 127.0.0.1:8080,unix:/run/tokio-php/http.sock, or off (FastCGI alone)', help: 'addresses to listen on, separated by commas: HOST:PORT, [IPv6]:PORT, unix:/path, or off to serve FastCGI alone (default 0.0.0.0:8080)' },
  fastcgiListen: { env: 'FASTCGI_LISTEN', flag: '--fastcgi-listen', accepts: 'HOST:PORT, [IPv6]:PORT or unix:/absolute/path, several separated by commas, e.g. unix:/run/php/tokio-php.sock', help: "serve FastCGI (nginx's fastcgi_pass, as php-fpm) on these addresses too (default: none)" },
  fastcgiAllowedClients: { env: 'FASTCGI_ALLOWED_CLIENTS', flag: '--fastcgi-allowed-clients', accepts: 'IP addresses separated by commas, or any', help: 'the only clients FastCGI accepts over TCP, as php-fpm\'s listen.allowed_clients (default 127.0.0.1,::1)' },
  fastcgiSocketMode: { env: 'FASTCGI_SOCKET_MODE', flag: '--fastcgi-socket-mode', accepts: 'an octal mode from 000 to 777, e.g. 0660 or 0666', help: 'permissions of the unix: sockets of FASTCGI_LISTEN (default 0660), as php-fpm\'s listen.mode' },
  fastcgiSocketOwner: { env: 'FASTCGI_SOCKET_OWNER', flag: '--fastcgi-socket-owner', accepts: 'a user name or uid', help: 'owner of the unix: sockets of FASTCGI_LISTEN (default: USER when started as root, else the user tokio-php runs as)' },
  fastcgiSocketGroup: { env: 'FASTCGI_SOCKET_GROUP', flag: '--fastcgi-socket-group', accepts: 'a group name or gid', help: 'group of the unix: sockets of FASTCGI_LISTEN (default: GROUP when started as root, else the group tokio-php runs as)' },
  listenSocketMode: { env: 'LISTEN_SOCKET_MODE', flag: '--listen-socket-mode', accepts: 'an octal mode from 000 to 777, e.g. 0660 or 0666', help: 'permissions of the unix: sockets of LISTEN_ADDR (default 0660)' },
  listenSocketOwner: { env: 'LISTEN_SOCKET_OWNER', flag: '--listen-socket-owner', accepts: 'a user name or uid', help: 'owner of the unix: sockets of LISTEN_ADDR (default: USER when started as root, else the user tokio-php runs as)' },
  listenSocketGroup: { env: 'LISTEN_SOCKET_GROUP', flag: '--listen-socket-group', accepts: 'a group name or gid', help: 'group of the unix: sockets of LISTEN_ADDR (default: GROUP when started as root, else the group tokio-php runs as)' },
  docroot: { env: 'DOCUMENT_ROOT', flag: '--docroot', accepts: 'an existing directory', help: 'directory served (default: the bundled demo site)' },
  index: { env: 'INDEX_FILE', flag: '--index', accepts: 'a file name such as index.php or index.html, or empty', help: 'front controller: every path that is not a file or directory goes to it' },
  workers: { env: 'PHP_WORKERS', flag: '--workers', accepts: 'an integer from 1 to 1024', help: 'PHP worker threads in all, shared by the processes (default: CPU count)' },
  httpThreads: { env: 'HTTP_THREADS', flag: '--http-threads', accepts: 'an integer from 1 to 63', help: 'event loops serving HTTP in each server process, all feeding its one PHP pool (default: CPU count, at most 4)' },
  processes: { env: 'PROCESSES', flag: '--processes', accepts: 'an integer from 1 to 32, at most PHP_WORKERS', help: 'server processes, each with its own pool of its share of the PHP threads (default 1: one pool)' },
  queue: { env: 'QUEUE_CAPACITY', flag: '--queue', accepts: 'an integer from 0 to 1000000', help: 'requests that may wait for a worker before 503 (default: workers x 100)' },
  timeout: { env: 'REQUEST_TIMEOUT', flag: '--timeout', accepts: 'a duration like 30s, 2m, 500ms, or off', help: 'longest a PHP request may run before 504 (default 60s)' },
  slowlogTimeout: { env: 'SLOWLOG_TIMEOUT', flag: '--slowlog-timeout', accepts: 'a duration like 5s, 1m, 500ms, or off', help: 'a PHP request still running after this is logged once with its PHP backtrace, as php-fpm\'s request_slowlog_timeout (default off)' },
  maxBody: { env: 'MAX_BODY_SIZE', flag: '--max-body', accepts: 'a size like 8m, 512k, 1g or a number of bytes', help: 'largest request body before 413 (default 16m, above PHP\'s post_max_size 8M)' },
  bodyBuffer: { env: 'BODY_BUFFER_SIZE', flag: '--body-buffer', accepts: 'a size like 1m, 64k or a number of bytes', help: 'request bodies larger than this wait for PHP in a temporary file, not in memory (default 1m)' },
  headerTimeout: { env: 'HEADER_TIMEOUT', flag: '--header-timeout', accepts: 'a duration like 60s or 2m', help: "longest a connection's first request head may take to arrive whole before the connection is closed (default 60s)" },
  bodyTimeout: { env: 'BODY_TIMEOUT', flag: '--body-timeout', accepts: 'a duration like 60s or 2m', help: 'longest wait between two reads of a request body before 408 (default 60s)' },
  tlsCert: { env: 'TLS_CERT', flag: '--tls-cert', accepts: 'a readable PEM certificate file (with TLS_KEY)', help: 'serve HTTPS with this certificate' },
  tlsKey: { env: 'TLS_KEY', flag: '--tls-key', accepts: 'a readable PEM key file (with TLS_CERT)', help: 'the certificate\'s private key' },
  phpIni: { env: 'PHP_INI_PATH', flag: '--php-ini', accepts: 'an existing php.ini file or directory', help: 'php.ini to load' },
  drain: { env: 'DRAIN_TIMEOUT', flag: '--drain-timeout', accepts: 'a duration like 30s or 500ms', help: 'how long shutdown waits for requests in flight (default 30s)' },
  logFile: { env: 'LOG_FILE', flag: '--log-file', accepts: 'a file path in an existing directory', help: 'write logs to this file instead of stdout; SIGUSR1 reopens it' },
  logLevel: { env: 'LOG_LEVEL', flag: '--log-level', accepts: 'one of fatal, error, warn, info, debug, trace, silent', help: 'log level (default info)' },
  logFormat: { env: 'LOG_FORMAT', flag: '--log-format', accepts: 'json or pretty', help: 'log lines as JSON (default) or readable (pino-pretty)' },
  executor: { env: 'EXECUTOR', flag: '--executor', accepts: 'ext, eval or stub', help: 'how PHP runs: ext (default), eval, or stub (no PHP: measures HTTP); USE_EXT=0 means eval, USE_STUB=1 stub' },
  sseTimeout: { env: 'SSE_TIMEOUT', flag: '--sse-timeout', accepts: 'a duration like 30m, 1h, or off', help: 'longest life of a text/event-stream response (default 1h)' },
  heartbeat: { env: 'REQUEST_HEARTBEAT_MAX', flag: '--heartbeat-max', accepts: 'a duration like 30s or 5m', help: 'most time one tokio_request_heartbeat() may grant (default 5m)' },
  executionClock: { env: 'EXECUTION_TIME_CLOCK', flag: '--execution-time-clock', accepts: 'cpu or wall', help: 'what max_execution_time counts: cpu (default, as php-fpm) or wall' },
  tlsMinVersion: { env: 'TLS_MIN_VERSION', flag: '--tls-min-version', accepts: 'TLSv1.2 or TLSv1.3', help: 'the oldest TLS a client may speak (default TLSv1.2)' },
  http2: { env: 'HTTP2', flag: '--http2', accepts: 'on or off', help: 'serve HTTP/2: by ALPN over TLS, with prior knowledge (h2c) on the plain port (default on)' },
  serverHeader: { env: 'SERVER_HEADER', flag: '--server-header', accepts: 'printable ASCII text, or empty for no header', help: 'Server header, unless the script sends its own (default tokio-php; empty: none)' },
  internal: { env: 'INTERNAL_ADDR', flag: '--internal', accepts: 'HOST:PORT, e.g. 0.0.0.0:9090, or off', help: '/health, /ready, /metrics (Prometheus), /status and POST /workers/restart, never on the public port (default 0.0.0.0:9090)' },
  adminToken: { env: 'ADMIN_TOKEN', flag: '', accepts: 'a non-empty bearer token: letters, digits and -._~+/ (then = signs), e.g. from openssl rand -hex 32', help: 'the internal port\'s state-changing endpoints (POST /workers/restart) need "Authorization: Bearer <token>"; unset, they answer loopback clients only' },
  accessLog: { env: 'ACCESS_LOG', flag: '--access-log', accepts: 'on or off', help: 'one JSON log line per request (default off)' },
  queueTimeout: { env: 'QUEUE_TIMEOUT', flag: '--queue-timeout', accepts: 'a duration like 5s or 500ms, or off', help: 'longest a PHP request may wait for a worker before 503 (default off)' },
  rateLimit: { env: 'RATE_LIMIT', flag: '--rate-limit', accepts: 'a rate like 100/s, 600/m or 10000/h, or off', help: 'requests per client address before 429 (default off)' },
  rateLimitBurst: { env: 'RATE_LIMIT_BURST', flag: '--rate-limit-burst', accepts: 'an integer from 1 to 1000000', help: 'requests a client may make at once (default: the count of RATE_LIMIT)' },
  trustedProxies: { env: 'TRUSTED_PROXIES', flag: '--trusted-proxies', accepts: 'comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,::1, and unix: for peers on Unix sockets', help: 'proxies whose X-Forwarded-For/Forwarded give the client address (REMOTE_ADDR); unix: trusts peers on unix: sockets' },
  staticCacheTtl: { env: 'STATIC_CACHE_TTL', flag: '--static-cache-ttl', accepts: 'a duration like 1h, 7d or 600s, or off', help: 'Cache-Control max-age and Expires on static files (default off)' },
  staticCacheTtlExt: { env: 'STATIC_CACHE_TTL_EXT', flag: '--static-cache-ttl-ext', accepts: 'extension=duration pairs like css=7d,js=7d,html=off', help: 'per-extension overrides of STATIC_CACHE_TTL' },
  staticCacheImmutable: { env: 'STATIC_CACHE_IMMUTABLE', flag: '--static-cache-immutable', accepts: 'on or off', help: 'names with a content hash (app.3f9a2c1b.js) cached for a year, immutable (default off)' },
  compression: { env: 'COMPRESSION', flag: '--compression', accepts: 'br, gzip or both (br,gzip), in order of preference, or off', help: 'compress text responses and serve precompressed .br/.gz siblings (default off)' },
  errorPages: { env: 'ERROR_PAGES_DIR', flag: '--error-pages', accepts: 'an existing directory holding 404.html, 5xx.html, ...', help: 'the site\'s pages for error answers, for clients that accept HTML' },
  workerScript: { env: 'WORKER_SCRIPT', flag: '--worker', accepts: 'a PHP file (relative to DOCUMENT_ROOT, or absolute), or several separated by commas, each optionally =/path/* to match', help: 'worker mode: the script boots once per thread and serves requests in a loop on tokio_handle_request()' },
  workerThreads: { env: 'WORKER_THREADS', flag: '--worker-threads', accepts: 'an integer from 1 to 1024, at least PROCESSES', help: 'threads of each worker script, in all (default PHP_WORKERS); classic scripts keep the rest, at least 1 per process' },
  maxRequests: { env: 'MAX_REQUESTS', flag: '--max-requests', accepts: 'an integer from 0 (never)', help: 'replace a classic PHP thread after this many requests, as php-fpm\'s pm.max_requests (default 0: never)' },
  pm: { env: 'PM', flag: '--pm', accepts: 'static, dynamic or ondemand', help: 'how many classic PHP threads run, as php-fpm\'s pm: static (PHP_WORKERS, always), dynamic (spares between PM_MIN_SPARE and PM_MAX_SPARE) or ondemand (started per request, retired after PM_IDLE_TIMEOUT) (default static)' },
  pmStartWorkers: { env: 'PM_START_WORKERS', flag: '--pm-start-workers', accepts: 'an integer from PM_MIN_SPARE to PHP_WORKERS (the classic threads), with PM=dynamic', help: 'PM=dynamic: classic threads at start, as pm.start_servers (default PM_MIN_SPARE + (PM_MAX_SPARE - PM_MIN_SPARE) / 2)' },
  pmMinSpare: { env: 'PM_MIN_SPARE', flag: '--pm-min-spare', accepts: 'an integer from 1 to PM_MAX_SPARE, with PM=dynamic', help: 'PM=dynamic: fewer idle classic threads than this, more start, as pm.min_spare_servers (default 20 % of PHP_WORKERS, at least 1)' },
  pmMaxSpare: { env: 'PM_MAX_SPARE', flag: '--pm-max-spare', accepts: 'an integer from PM_MIN_SPARE to PHP_WORKERS (the classic threads), with PM=dynamic', help: 'PM=dynamic: more idle classic threads than this, one retires each second, as pm.max_spare_servers (default 60 % of PHP_WORKERS, at least PM_MIN_SPARE)' },
  pmIdleTimeout: { env: 'PM_IDLE_TIMEOUT', flag: '--pm-idle-timeout', accepts: 'a duration like 10s or 500ms, with PM=ondemand', help: 'PM=ondemand: a classic thread idle this long retires, as pm.process_idle_timeout (default 10s)' },
  workerMaxRequests: { env: 'WORKER_MAX_REQUESTS', flag: '--worker-max-requests', accepts: 'an integer from 0 (never)', help: 'restart a worker script after about this many requests (default 0: never)' },
  workerMaxMemory: { env: 'WORKER_MAX_MEMORY', flag: '--worker-max-memory', accepts: 'a size like 128m, or 0 for off', help: 'restart a worker script after a request that left it using more memory (default off)' },
  workerMaxFailures: { env: 'WORKER_MAX_FAILURES', flag: '--worker-max-failures', accepts: 'an integer from 1 to 1000', help: 'consecutive failed boots before a worker script is reported broken (default 6)' },
  workerWatch: { env: 'WORKER_WATCH', flag: '--worker-watch', accepts: 'comma-separated globs like ./src/**/*.php, or off', help: 'development: restart the worker scripts when a matching file changes (default off)' },
  user: { env: 'USER', flag: '--user', accepts: 'a user name or uid', help: 'started as root: the user PHP runs as, as php-fpm\'s user (default: refuse to run PHP as root)' },
  group: { env: 'GROUP', flag: '--group', accepts: 'a group name or gid', help: 'the group PHP runs as (default: USER\'s primary group)' },
  allowRoot: { env: 'ALLOW_RUN_AS_ROOT', flag: '--allow-run-as-root', accepts: '1 or 0', help: 'started as root without USER: run PHP as root (php-fpm\'s --allow-to-run-as-root)' },
  symlinks: { env: 'SYMLINKS_OUTSIDE_ROOT', flag: '--symlinks-outside-root', accepts: 'allow or deny', help: 'follow symlinks that lead out of the document root (default deny)' },
} satisfies Record<string, Setting>;

type Key = keyof typeof SETTINGS;

/** a user or group name, or a numeric id */
const ACCOUNT_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

function fail(s: Setting, value: string): never {
  throw new ConfigError(`${s.env}=${JSON.stringify(value)} is not valid: expected ${s.accepts}`);
}

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
}

export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kmg])?b?$/i.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1);
}

/** A duration, or 0 for "off". */
function parseTimeout(s: Setting, text: string): number {
  return /^(off|0)$/i.test(text.trim()) ? 0 : parseDuration(text) ?? fail(s, text);
}

function onOff(s: Setting, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === '1' || v === 'true') return true;
  if (v === 'off' || v === '0' || v === 'false') return false;
  return fail(s, value);
}

function parseInteger(s: Setting, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) fail(s, value);
  const n = Number(value);
  if (n < min || n > max) fail(s, value);
  return n;
}

export function parseListen(s: Setting, value: string, bad = () => fail(s, value)): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim()) ?? /^()()(\d{1,5})$/.exec(value.trim());
  if (!m) return bad();
  const port = Number(m[3]);
  if (port > 65535) bad();
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** LISTEN_ADDR: one address or several, separated by commas; none twice (but for port 0: any free port). */
function parseListenList(s: Setting, text: string): ListenAddress[] {
  const entries = text.split(',').map((e) => e.trim());
  // a list names the entry that is wrong
  const bad = (entry: string, why = `expected ${s.accepts}`): never => {
    throw new ConfigError(`${s.env}=${JSON.stringify(text)} is not valid: ${entries.length > 1 ? `${JSON.stringify(entry)}: ` : ''}${why}`);
  };
  const seen = new Set<string>();
  return entries.map((entry) => {
    if (!entry) bad(entry);
    const address: ListenAddress = entry.startsWith('unix:') ? { path: entry.slice(5) } : parseListen(s, entry, () => bad(entry));
    if ('path' in address && !path.isAbsolute(address.path)) bad(entry, `expected an absolute path after unix: (${s.accepts})`);
    // sun_path holds 108 bytes with the NUL
    if ('path' in address && Buffer.byteLength(address.path) > 107) bad(entry, 'a Unix socket path is at most 107 bytes long');
    const key = formatListenAddress(address);
    if (seen.has(key) && !('port' in address && address.port === 0)) bad(entry, 'named twice');
    seen.add(key);
    return address;
  });
}

/** Exact addresses, as php-fpm's listen.allowed_clients takes them; `any` lets every client in. */
function parseAllowedClients(s: Setting, text: string): BlockList | null {
  if (text.trim() === 'any') return null;
  const list = new BlockList();
  for (const entry of text.split(',').map((e) => e.trim())) {
    const family = isIP(entry);
    if (!family) fail(s, text);
    list.addAddress(entry, family === 6 ? 'ipv6' : 'ipv4');
    if (family === 4) list.addAddress(`::ffff:${entry}`, 'ipv6'); // as a dual-stack socket shows it
  }
  return list;
}

/** The permissions of LISTEN_ADDR's Unix sockets; refused when it has none. */
function parseSocketFiles(settings: readonly [Setting, Setting, Setting], values: readonly (string | undefined)[], addresses: ListenAddress[], list: Setting): SocketFiles {
  const given = settings.map((s, i) => [s, values[i]] as const).filter(([, v]) => v !== undefined);
  if (given.length && !addresses.some((a) => 'path' in a)) {
    throw new ConfigError(`${given.map(([s]) => s.env).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to Unix sockets, and ${list.env} has no unix: address`);
  }
  const [modeText, owner, group] = values;
  const mode = (modeText ?? '0660').trim();
  if (!/^0?[0-7]{3}$/.test(mode)) fail(settings[0], mode);
  for (const [s, value] of [[settings[1], owner], [settings[2], group]] as const) {
    if (value !== undefined && !ACCOUNT_NAME.test(value.trim())) fail(s, value);
  }
  return { mode: parseInt(mode, 8), owner: owner?.trim(), group: group?.trim(), variables: settings.map((s) => s.env) as SocketFiles['variables'] };
}

/** An address as LISTEN_ADDR writes it: 127.0.0.1:8080, [::1]:8080, unix:/run/tokio-php/http.sock. */
export function formatListenAddress(address: ListenAddress): string {
  if ('path' in address) return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export const HELP = `tokio-php — a PHP application server on Node.js

Usage: tokio-php [options]

Options (each also an environment variable):
${Object.values(SETTINGS).map((s: Setting) => `  ${(s.flag ? `${s.flag} <value>` : '(no flag: environment only)').padEnd(32)} ${s.env.padEnd(22)} ${s.help}`).join('\n')}
  --help                           show this help
  --version                        print the version
`;

/** Reads the configuration; throws ConfigError on a bad value. `argv` excludes node and script. */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = []): Config {
  const raw: Partial<Record<Key, string>> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [Key, Setting][]) {
    if (env[s.env] !== undefined) raw[key] = env[s.env];
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const entry = (Object.entries(SETTINGS) as [Key, Setting][]).find(([, s]) => s.flag !== '' && s.flag === flag);
    if (!entry) throw new ConfigError(`unknown option ${JSON.stringify(arg)} (see --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`option ${flag} needs a value: ${entry[1].accepts}`);
    raw[entry[0]] = value;
  }

  const S = SETTINGS;
  // off: FastCGI alone, as php-fpm serves
  const listen = raw.listen?.trim() === 'off' ? [] : parseListenList(S.listen, raw.listen ?? '0.0.0.0:8080');
  const fastcgiListen = raw.fastcgiListen ? parseListenList(S.fastcgiListen, raw.fastcgiListen) : [];
  if (!listen.length && !fastcgiListen.length) throw new ConfigError(`${S.listen.env}=off needs ${S.fastcgiListen.env}: nothing would be served`);
  const fastcgiAllowedClients = parseAllowedClients(S.fastcgiAllowedClients, raw.fastcgiAllowedClients ?? '127.0.0.1,::1');
  const listenSocket = parseSocketFiles([S.listenSocketMode, S.listenSocketOwner, S.listenSocketGroup],
    [raw.listenSocketMode, raw.listenSocketOwner, raw.listenSocketGroup], listen, S.listen);
  const fastcgiSocket = parseSocketFiles([S.fastcgiSocketMode, S.fastcgiSocketOwner, S.fastcgiSocketGroup],
    [raw.fastcgiSocketMode, raw.fastcgiSocketOwner, raw.fastcgiSocketGroup], fastcgiListen, S.fastcgiListen);
  const documentRoot = path.resolve(raw.docroot ?? DEMO_ROOT);
  if (!existsSync(documentRoot) || !statSync(documentRoot).isDirectory()) fail(S.docroot, raw.docroot ?? documentRoot);
  const indexFile = (raw.index ?? '').trim();
  if (indexFile.includes('/') || indexFile.startsWith('.')) fail(S.index, indexFile);
  const workers = raw.workers === undefined ? os.availableParallelism() : parseInteger(S.workers, raw.workers, 1, 1024);
  const processes = raw.processes === undefined ? 1 : parseInteger(S.processes, raw.processes, 1, Math.min(32, workers));
  const httpThreads = raw.httpThreads === undefined ? Math.min(4, os.availableParallelism()) : parseInteger(S.httpThreads, raw.httpThreads, 1, 63);
  const queueCapacity = raw.queue === undefined ? workers * 100 : parseInteger(S.queue, raw.queue, 0, 1_000_000);
  const requestTimeout = parseTimeout(S.timeout, raw.timeout ?? '60s');
  const slowlogTimeout = parseTimeout(S.slowlogTimeout, raw.slowlogTimeout ?? 'off');
  const maxBodySize = parseSize(raw.maxBody ?? '16m') ?? fail(S.maxBody, raw.maxBody ?? '');
  const bodyBufferSize = parseSize(raw.bodyBuffer ?? '1m') ?? fail(S.bodyBuffer, raw.bodyBuffer ?? '');
  const headerTimeout = parseDuration(raw.headerTimeout ?? '60s') || fail(S.headerTimeout, raw.headerTimeout ?? '');
  const bodyTimeout = parseDuration(raw.bodyTimeout ?? '60s') || fail(S.bodyTimeout, raw.bodyTimeout ?? '');
  const drainTimeout = parseDuration(raw.drain ?? '30s') ?? fail(S.drain, raw.drain ?? '');
  const logLevel = (raw.logLevel ?? 'info').trim();
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) fail(S.logLevel, logLevel);
  const logFormat = (raw.logFormat ?? 'json').trim();
  if (logFormat !== 'json' && logFormat !== 'pretty') fail(S.logFormat, logFormat);
  const symlinks = (raw.symlinks ?? 'deny').trim();
  if (symlinks !== 'allow' && symlinks !== 'deny') fail(S.symlinks, symlinks);
  if (Boolean(raw.tlsCert) !== Boolean(raw.tlsKey)) {
    throw new ConfigError('TLS_CERT and TLS_KEY go together: set both (PEM files) or neither');
  }
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    const file = raw[key];
    if (file && (!existsSync(file) || !statSync(file).isFile())) fail(S[key], file);
  }
  if (raw.tlsCert && raw.tlsKey) checkTls(raw.tlsCert, raw.tlsKey);
  if (raw.phpIni && !existsSync(raw.phpIni)) fail(S.phpIni, raw.phpIni);
  const logFile = raw.logFile ? path.resolve(raw.logFile) : undefined;
  if (logFile && !existsSync(path.dirname(logFile))) fail(S.logFile, raw.logFile!);
  const executor = (raw.executor ?? (env.USE_STUB === '1' ? 'stub' : env.USE_EXT === '0' ? 'eval' : 'ext')).trim();
  if (executor !== 'ext' && executor !== 'eval' && executor !== 'stub') fail(S.executor, executor);
  for (const [name, value] of [['USE_EXT', env.USE_EXT], ['USE_STUB', env.USE_STUB]] as const) {
    if (value !== undefined && value !== '0' && value !== '1') {
      throw new ConfigError(`${name}=${JSON.stringify(value)} is not valid: expected 0 or 1`);
    }
  }
  const executionTimeClock = (raw.executionClock ?? 'cpu').trim();
  if (executionTimeClock !== 'cpu' && executionTimeClock !== 'wall') fail(S.executionClock, executionTimeClock);
  const sseTimeout = parseTimeout(S.sseTimeout, raw.sseTimeout ?? '1h');
  const heartbeatMax = parseDuration(raw.heartbeat ?? '5m') ?? fail(S.heartbeat, raw.heartbeat ?? '');
  const serverHeader = (raw.serverHeader ?? 'tokio-php').trim();
  if (!/^[\x20-\x7e]*$/.test(serverHeader)) fail(S.serverHeader, serverHeader);
  const internalText = (raw.internal ?? '0.0.0.0:9090').trim();
  const internal = /^off$/i.test(internalText) ? null : parseListen(S.internal, internalText);
  const adminToken = parseAdminToken(raw.adminToken);
  const accessLog = onOff(S.accessLog, raw.accessLog ?? 'off');
  const http2 = onOff(S.http2, raw.http2 ?? 'on');
  const tlsMinVersion = raw.tlsMinVersion ?? 'TLSv1.2';
  if (tlsMinVersion !== 'TLSv1.2' && tlsMinVersion !== 'TLSv1.3') fail(S.tlsMinVersion, tlsMinVersion);
  const queueTimeout = parseTimeout(S.queueTimeout, raw.queueTimeout ?? 'off');
  const rateLimit = parseRateLimit(raw.rateLimit ?? 'off', raw.rateLimitBurst);
  const staticCache = parseStaticCache(raw.staticCacheTtl, raw.staticCacheTtlExt, raw.staticCacheImmutable);
  const compressionText = (raw.compression ?? 'off').trim().toLowerCase();
  const compression = compressionText === 'off' ? [] : compressionText.split(',').map((c) => c.trim()) as Coding[];
  if (compression.some((c) => c !== 'br' && c !== 'gzip') || new Set(compression).size !== compression.length) fail(S.compression, raw.compression!);
  const errorPagesDir = raw.errorPages ? path.resolve(raw.errorPages) : null;
  if (errorPagesDir && (!existsSync(errorPagesDir) || !statSync(errorPagesDir).isDirectory())) fail(S.errorPages, raw.errorPages!);
  const workerScripts = parseWorkerScripts(raw.workerScript ?? '', documentRoot);
  if (workerScripts.length && executor !== 'ext') {
    throw new ConfigError(`WORKER_SCRIPT needs the ext executor (EXECUTOR=ext, USE_EXT=1, no USE_STUB): it is ${executor}`);
  }
  const workerThreads = raw.workerThreads === undefined ? workers : parseInteger(S.workerThreads, raw.workerThreads, processes, 1024);
  const maxRequests = raw.maxRequests === undefined ? 0 : parseInteger(S.maxRequests, raw.maxRequests, 0, Number.MAX_SAFE_INTEGER);
  // worker mode: the classic threads are what worker scripts leave, at least one per process
  const pm = parsePoolManager(raw, workerScripts.length ? Math.max(processes, workers - workerThreads) : workers);
  const workerMaxRequests = raw.workerMaxRequests === undefined ? 0 : parseInteger(S.workerMaxRequests, raw.workerMaxRequests, 0, Number.MAX_SAFE_INTEGER);
  const workerMaxMemory = /^(off|0)$/i.test((raw.workerMaxMemory ?? '0').trim()) ? 0 : parseSize(raw.workerMaxMemory!) ?? fail(S.workerMaxMemory, raw.workerMaxMemory!);
  const workerMaxFailures = raw.workerMaxFailures === undefined ? 6 : parseInteger(S.workerMaxFailures, raw.workerMaxFailures, 1, 1000);
  const watchText = (raw.workerWatch ?? 'off').trim();
  const workerWatch = /^off$/i.test(watchText) || watchText === '' ? [] : watchText.split(',').map((g) => g.trim()).filter(Boolean);
  if (workerWatch.length && !workerScripts.length) throw new ConfigError('WORKER_WATCH needs WORKER_SCRIPT: it restarts worker scripts');
  // A worker script at the top of the root is the front controller unless INDEX_FILE says otherwise.
  const front = workerScripts.find((w) => !w.match && path.dirname(w.filename) === documentRoot);
  const index = raw.index === undefined && front ? path.basename(front.filename) : indexFile;
  const user = raw.user?.trim() || undefined;
  const group = raw.group?.trim() || undefined;
  for (const [key, value] of [['user', user], ['group', group]] as const) {
    if (value !== undefined && !ACCOUNT_NAME.test(value)) fail(S[key], value);
  }
  const allowText = (raw.allowRoot ?? '0').trim();
  if (allowText !== '0' && allowText !== '1') fail(S.allowRoot, allowText);
  let trustedProxies: TrustedProxies | null = null;
  if (raw.trustedProxies?.trim()) {
    try {
      trustedProxies = parseTrustedProxies(raw.trustedProxies);
    } catch (err) {
      throw new ConfigError(`TRUSTED_PROXIES: ${JSON.stringify((err as Error).message)} is not valid: expected ${S.trustedProxies.accepts}`);
    }
  }

  return {
    listen,
    fastcgiListen,
    fastcgiAllowedClients,
    listenSocket,
    fastcgiSocket,
    documentRoot,
    indexFile: index,
    workers,
    processes,
    httpThreads,
    queueCapacity,
    requestTimeout,
    slowlogTimeout,
    maxBodySize,
    bodyBufferSize,
    bodyTimeout,
    headerTimeout,
    tlsCert: raw.tlsCert || undefined,
    tlsKey: raw.tlsKey || undefined,
    phpIniPath: raw.phpIni || undefined,
    drainTimeout,
    logLevel,
    logFormat,
    logFile,
    symlinksOutsideRoot: symlinks === 'allow',
    executor,
    executionTimeClock,
    sseTimeout,
    heartbeatMax,
    serverHeader,
    http2,
    tlsMinVersion,
    internal,
    adminToken,
    accessLog,
    queueTimeout,
    rateLimit,
    trustedProxies,
    staticCache,
    errorPagesDir,
    compression,
    workerScripts,
    workerThreads,
    workerMaxRequests,
    maxRequests,
    pm,
    workerMaxMemory,
    workerMaxFailures,
    workerWatch,
    user,
    group,
    allowRunAsRoot: allowText === '1',
  };
}

/**
 * PM and its settings; `max`: the classic threads in all. Defaults as php-fpm's sample pool
 * (5 children: 1 to 3 spares, 2 at start) scaled to `max`.
 */
function parsePoolManager(raw: Partial<Record<Key, string>>, max: number): PoolManager {
  const S = SETTINGS;
  const mode = (raw.pm ?? 'static').trim();
  if (mode !== 'static' && mode !== 'dynamic' && mode !== 'ondemand') fail(S.pm, mode);
  const needs = (keys: Key[], wanted: string) => {
    for (const key of keys) {
      if (raw[key] !== undefined) throw new ConfigError(`${S[key].env} needs PM=${wanted} (PM is ${mode})`);
    }
  };
  if (mode !== 'dynamic') needs(['pmStartWorkers', 'pmMinSpare', 'pmMaxSpare'], 'dynamic');
  if (mode !== 'ondemand') needs(['pmIdleTimeout'], 'ondemand');
  if (mode === 'static') return { mode };
  if (mode === 'ondemand') {
    const text = raw.pmIdleTimeout ?? '10s';
    return { mode, idleTimeoutMs: parseDuration(text) || fail(S.pmIdleTimeout, text) };
  }
  // a value out of its range names the range it has here
  const integer = (key: Key, min: number, top: number) => {
    const text = raw[key]!;
    if (/^\d+$/.test(text.trim()) && Number(text) >= min && Number(text) <= top) return Number(text);
    throw new ConfigError(`${S[key].env}=${JSON.stringify(text)} is not valid: expected ${S[key].accepts} (here ${min} to ${top})`);
  };
  const givenMax = raw.pmMaxSpare === undefined ? undefined : integer('pmMaxSpare', 1, max);
  const minSpare = raw.pmMinSpare === undefined ? Math.min(givenMax ?? max, Math.max(1, Math.round(max * 0.2))) : integer('pmMinSpare', 1, givenMax ?? max);
  const maxSpare = givenMax ?? Math.max(minSpare, Math.round(max * 0.6));
  const startWorkers = raw.pmStartWorkers === undefined ? minSpare + Math.floor((maxSpare - minSpare) / 2) : integer('pmStartWorkers', minSpare, max);
  return { mode, startWorkers, minSpare, maxSpare };
}

/** ADMIN_TOKEN: a bearer token (RFC 6750's token68), never repeated in a message. */
function parseAdminToken(token: string | undefined): string | null {
  if (token === undefined) return null;
  const s = SETTINGS.adminToken;
  if (token === '') throw new ConfigError(`ADMIN_TOKEN is set but empty: expected ${s.accepts}, or leave it unset (then loopback clients only)`);
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) throw new ConfigError(`ADMIN_TOKEN is not valid (its value is not shown): expected ${s.accepts}`);
  return token;
}

/**
 * TLS_CERT and TLS_KEY as uWebSockets.js will read them: PEM, a certificate, a private key, and
 * the key the certificate's. Checked here because uWS says only "App construction failed".
 */
function checkTls(certFile: string, keyFile: string): void {
  const S = SETTINGS;
  const bad = (s: Setting, file: string, why: string): never => {
    throw new ConfigError(`${s.env}=${JSON.stringify(file)} is not valid: ${why} (expected ${s.accepts})`);
  };
  const read = (s: Setting, file: string): string => {
    try {
      return readFileSync(file, 'latin1');
    } catch (err) {
      return bad(s, file, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const certPem = read(S.tlsCert, certFile);
  if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) bad(S.tlsCert, certFile, 'the file holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return bad(S.tlsCert, certFile, `its PEM certificate cannot be parsed (${(err as Error).message})`);
  }
  const keyPem = read(S.tlsKey, keyFile);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) bad(S.tlsKey, keyFile, 'the file holds no PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line)');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyPem)) {
    bad(S.tlsKey, keyFile, 'the private key is encrypted, and no passphrase can be given (openssl pkey -in KEY -out PLAIN decrypts it)');
  }
  let key;
  try {
    key = createPrivateKey({ key: keyPem, format: 'pem' });
  } catch (err) {
    return bad(S.tlsKey, keyFile, `its PEM private key cannot be parsed (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(`TLS_KEY=${JSON.stringify(keyFile)} is not valid: it is not the private key of the certificate in TLS_CERT=${JSON.stringify(certFile)} (subject ${cert.subject.replace(/\n/g, ', ')})`);
  }
}

/**
 * What in a valid configuration still looks wrong, for the log at startup: one entry per problem,
 * its fields and its message.
 */
export function configWarnings(config: Config): { fields: Record<string, unknown>; msg: string }[] {
  const out: { fields: Record<string, unknown>; msg: string }[] = [];
  if (config.indexFile) {
    // a warning, not a refusal: a deployment may put the file there after the start, and the
    // router sees a new file at once
    const file = path.join(config.documentRoot, config.indexFile);
    if (!existsSync(file)) {
      out.push({ fields: { INDEX_FILE: config.indexFile, path: file },
        msg: `INDEX_FILE: ${file} does not exist: every path that is not a file gets 404 until it does` });
    }
  }
  return out;
}

function parseWorkerScripts(text: string, documentRoot: string): WorkerScriptConfig[] {
  const s = SETTINGS.workerScript;
  const out: WorkerScriptConfig[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const file = eq < 0 ? entry : entry.slice(0, eq).trim();
    const match = eq < 0 ? null : entry.slice(eq + 1).trim();
    const filename = path.resolve(documentRoot, file);
    if (!/\.php$/i.test(filename) || !existsSync(filename) || !statSync(filename).isFile()) {
      throw new ConfigError(`WORKER_SCRIPT=${JSON.stringify(text)} is not valid: ${filename} is not a PHP file (expected ${s.accepts})`);
    }
    if (match !== null && !/^\/[^*\s]*\*?$/.test(match)) {
      throw new ConfigError(`WORKER_SCRIPT=${JSON.stringify(text)} is not valid: the match ${JSON.stringify(match)} must be a URL path such as /api/* or /health`);
    }
    const inside = filename.startsWith(documentRoot + path.sep);
    out.push({ filename, name: inside ? filename.slice(documentRoot.length).split(path.sep).join('/') : `/${path.basename(filename)}`, match });
  }
  if (new Set(out.map((w) => w.filename)).size !== out.length) {
    throw new ConfigError(`WORKER_SCRIPT=${JSON.stringify(text)} is not valid: a script is named twice`);
  }
  return out;
}

function parseStaticCache(ttlText = 'off', extText = '', immutableText = 'off'): StaticCache | null {
  const S = SETTINGS;
  const ttl = parseTtl(S.staticCacheTtl, ttlText);
  const byExtension = new Map<string, number>();
  for (const pair of extText.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^\.?([A-Za-z0-9]+)=(.+)$/.exec(pair);
    if (!m) fail(S.staticCacheTtlExt, extText);
    byExtension.set(m[1].toLowerCase(), parseTtl(S.staticCacheTtlExt, m[2], extText));
  }
  const immutableHashed = onOff(S.staticCacheImmutable, immutableText);
  return ttl || byExtension.size || immutableHashed ? { ttl, byExtension, immutableHashed } : null;
}

/** Seconds, with days allowed; 0 for off. */
function parseTtl(s: Setting, text: string, whole = text): number {
  const t = text.trim();
  if (/^(off|0)$/i.test(t)) return 0;
  const days = /^(\d+)d$/.exec(t);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(t);
  if (ms === undefined || ms < 1000) return fail(s, whole);
  return Math.floor(ms / 1000);
}

function parseRateLimit(text: string, burstText: string | undefined): RateLimit | null {
  if (/^off$/i.test(text.trim())) {
    if (burstText !== undefined) throw new ConfigError('RATE_LIMIT_BURST needs RATE_LIMIT (e.g. RATE_LIMIT=100/s)');
    return null;
  }
  const m = /^(\d+)\/(s|m|h)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) fail(SETTINGS.rateLimit, text);
  const count = Number(m[1]);
  const burst = burstText === undefined ? count : parseInteger(SETTINGS.rateLimitBurst, burstText, 1, 1_000_000);
  return { perSecond: count / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'], burst };
}
