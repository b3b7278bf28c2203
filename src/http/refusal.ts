// What nginx refuses in a request head before any routing, where neither transport already does:
// the gate (native/gate) refuses what would never parse; these apply to every request.
import type { RequestHead } from '../transport/request-context.js';

const MAX_URI = 8192; // nginx: large_client_header_buffers 4 8k
// methods are upper-case letters, '_' or '-'; a Host is one, non-empty, without white space, '/',
// '\\' or control characters (HTTP/1.0 may have none)
const METHOD = /^[A-Z_-]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const BAD_HOST = /[\s/\\\x00-\x1f\x7f]/;

function validHost(headers: readonly string[], protocol: string): boolean {
  let seen = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'host') continue;
    if (++seen > 1 || headers[i + 1] === '' || BAD_HOST.test(headers[i + 1])) return false;
  }
  return seen === 1 || protocol === 'HTTP/1.0';
}

/** The status nginx answers (and closes) for this head, or undefined when it goes on. */
export function refusal(head: RequestHead): 400 | 405 | 414 | undefined {
  if (!METHOD.test(head.method) || !validHost(head.headers, head.protocol)) return 400;
  if (head.method === 'TRACE') return 405;
  if (head.url.length + head.query.length > MAX_URI) return 414;
  return undefined;
}
