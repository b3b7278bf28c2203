#!/usr/bin/env node
// Concurrent large uploads: the server's peak memory (VmHWM) while it takes them, with the body
// spool (the default BODY_BUFFER_SIZE) and with every body kept in memory. With --soak N: N uploads,
// --concurrency at a time, with the default spool, and the memory of every process (PSS, RSS)
// after the first 100 and every 500: whether anything grows with the uploads served.
//
//   node bench/uploads.mjs [--uploads 100] [--mb 50]
//   node bench/uploads.mjs --soak 2000 [--mb 1] [--concurrency 20]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pssMiB, rssMiB } from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const soak = Number(args.soak ?? 0);
const concurrency = Number(args.concurrency ?? 20);
const uploads = Number(args.uploads ?? (soak ? concurrency : 100));
const mb = Number(args.mb ?? (soak ? 1 : 50));
const PORT = Number(args.port ?? 18083);
const block = randomBytes(1024 * 1024);
const boundary = 'tokio-bench-boundary';
const partHead = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="up"; filename="f.bin"\r\n\r\n`);
const partTail = Buffer.from(`\r\n--${boundary}--\r\n`);
const expected = (() => {
  const h = createHash('sha1');
  for (let i = 0; i < mb; i++) h.update(block);
  return h.digest('hex');
})();

function upload() {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: PORT, path: '/upload.php', method: 'POST', agent: false, headers: {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': partHead.length + mb * block.length + partTail.length,
    } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.write(partHead);
    let sent = 0;
    const more = () => {
      while (sent < mb) {
        sent++;
        if (!req.write(block)) return req.once('drain', more);
      }
      req.end(partTail);
    };
    more();
  });
}

// the server process's peak (the supervisor only watches; PROCESSES=1 below)
const serverPid = (supervisor) => Number(readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, 'utf8').trim().split(/\s+/)[0]);
const peak = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// every process of the server (the supervisor and its server processes)
const memory = (supervisor) => `PSS ${pssMiB([supervisor]).toFixed(1)} MiB, RSS ${rssMiB([supervisor]).toFixed(1)} MiB`;

async function soakRun(server) {
  const started = Date.now();
  let done = 0;
  let bad = 0;
  let base = 0;
  while (done < soak) {
    const batch = Math.min(concurrency, soak - done);
    const replies = await Promise.all(Array.from({ length: batch }, upload));
    bad += replies.filter((r) => r.status !== 200 || JSON.parse(r.body).sha1 !== expected).length;
    const before = Math.floor(done / 500);
    done += batch;
    if ((done >= 100 && !base) || Math.floor(done / 500) > before || done === soak) {
      await sleep(1000);
      const pss = pssMiB([server.pid]);
      base ||= pss;
      console.log(`${String(done).padStart(5)} uploads (${bad} failed, ${((Date.now() - started) / 1000).toFixed(0)} s): ${memory(server.pid)}, ` +
        `PSS ${(100 * (pss / base - 1)).toFixed(1)} % from after 100`);
    }
  }
}

async function run(bodyBuffer) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokio-uploads-'));
  writeFileSync(path.join(tmp, 'php.ini'), `upload_max_filesize = ${mb + 1}M\npost_max_size = ${mb + 2}M\nupload_tmp_dir = ${tmp}\n`);
  const server = spawn(process.execPath, [path.join(here, '../dist/src/cli.js')], {
    env: { ...process.env, LISTEN_ADDR: `127.0.0.1:${PORT}`, DOCUMENT_ROOT: path.join(here, 'site'), PHP_WORKERS: '2', PROCESSES: '1',
      QUEUE_CAPACITY: String(uploads), MAX_BODY_SIZE: `${mb + 2}m`, BODY_BUFFER_SIZE: bodyBuffer, REQUEST_TIMEOUT: 'off',
      PHP_INI_PATH: path.join(tmp, 'php.ini'), LOG_LEVEL: 'warn', TMPDIR: tmp, ALLOW_RUN_AS_ROOT: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await sleep(1500);
    if (soak) {
      console.log(`soak: ${soak} uploads of ${mb} MB, ${concurrency} at a time; at start ${memory(server.pid)}`);
      return await soakRun(server);
    }
    const pid = serverPid(server.pid);
    const idle = peak(pid);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: uploads }, upload));
    const seconds = (Date.now() - started) / 1000;
    const good = replies.filter((r) => r.status === 200 && JSON.parse(r.body).sha1 === expected).length;
    console.log(`BODY_BUFFER_SIZE=${bodyBuffer.padEnd(4)} ${uploads} × ${mb} MB in ${seconds.toFixed(1)} s: ` +
      `${good}/${uploads} intact, server process peak RSS ${peak(pid).toFixed(0)} MiB (${idle.toFixed(0)} MiB before)`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0].model}`);
await run('1m');
if (!soak) await run(`${mb + 2}m`);
