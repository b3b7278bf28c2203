// Debian's nginx (nginx-light) in front of tokio-php, with a configuration of a test's own.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { get } from './server.js';

export const NGINX = '/usr/sbin/nginx';
export const hasNginx = existsSync(NGINX);

export interface RunningNginx {
  /** the ports asked for, in order, each a `listen` of the configuration */
  ports: number[];
  stop: () => Promise<void>;
}

/** A free loopback port (free when asked: nginx binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * nginx with `servers(ports)` in its http block (the `server {}` blocks and any `upstream`), on
 * `count` free ports, its files in a new directory under `dir`; `head` goes before the events
 * block (`user ...;`). Resolves once the first port answers.
 */
export async function startNginx(dir: string, count: number, servers: (ports: number[]) => string, head = ''): Promise<RunningNginx> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const work = mkdtempSync(path.join(dir, 'nginx-'));
  writeFileSync(path.join(work, 'nginx.conf'), `worker_processes 1;
${head}
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${work}/body;
  client_body_buffer_size 1m; # in memory: the workers (nobody, when started as root) cannot write in ${work}
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  scgi_temp_path ${work}/scgi;
  uwsgi_temp_path ${work}/uwsgi;
  ${servers(ports)}
}
`);
  const nginx = spawn(NGINX, ['-c', path.join(work, 'nginx.conf'), '-p', work], { stdio: 'inherit' });
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  for (let i = 0; ; i++) {
    if (await get(`http://127.0.0.1:${ports[0]}/`, { agent: false }).then(() => true, () => false)) break;
    if (i > 100) throw new Error('nginx did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    ports,
    stop: async () => {
      nginx.kill('SIGQUIT');
      await exited;
    },
  };
}
