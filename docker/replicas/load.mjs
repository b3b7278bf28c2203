// Steady load for the replica test: `concurrency` clients, each sending GETs one after another
// on keep-alive connections until SIGTERM; prints how many were sent and which failed.
import { Agent, request } from 'node:http';

const [url, concurrency = '8'] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
let running = true;
let sent = 0;
const failures = {};
const fail = (why) => { failures[why] = (failures[why] ?? 0) + 1; };
const once = () => new Promise((resolve) => {
  request(url, { agent }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode !== 200) fail(`status ${res.statusCode}`); resolve(); });
    res.on('error', (err) => { fail(err.code ?? err.message); resolve(); });
  }).on('error', (err) => { fail(err.code ?? err.message); resolve(); }).end();
});
const clients = Array.from({ length: Number(concurrency) }, async () => {
  while (running) { sent++; await once(); }
});
process.on('SIGTERM', () => { running = false; });
await Promise.all(clients);
agent.destroy();
const failed = Object.values(failures).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ sent, failed, failures }));
process.exit(failed ? 1 : 0);
