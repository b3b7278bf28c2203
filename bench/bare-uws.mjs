#!/usr/bin/env node
// The HTTP layer's ceiling: uWebSockets.js alone answering hello world on one thread, what
// tokio-php's stub executor (no PHP) is measured against in bench/run.mjs.
//   node bench/bare-uws.mjs PORT
const uws = await import('uWebSockets.js');

const port = Number(process.argv[2] ?? 18099);
uws.App().any('/*', (res) => {
  res.cork(() => res.writeHeader('Content-Type', 'text/plain; charset=utf-8').end('Hello from the tokio-php stub executor: no PHP ran.\n'));
}).listen('127.0.0.1', port, (token) => {
  if (!token) {
    console.error(`bare-uws: cannot listen on ${port}`);
    process.exit(1);
  }
});
