// Builds engine requests the way the router will: a script under a fixture document root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhpRequest, PhpResponse } from '../../src/index.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

export function phpRequest(docroot: string, uri: string, extra: Partial<PhpRequest> = {}): PhpRequest {
  const pathname = uri.split('?')[0];
  const m = /^(.+?\.php)(\/.*)?$/.exec(pathname);
  const scriptName = m ? m[1] : pathname;
  return {
    method: 'GET',
    uri,
    scriptFilename: path.join(docroot, scriptName),
    scriptName,
    pathInfo: m?.[2] ?? '',
    documentRoot: docroot,
    headers: ['Host', 'example.test'],
    serverName: 'example.test',
    serverAddr: '127.0.0.1',
    serverPort: 8080,
    remoteAddr: '127.0.0.1',
    remotePort: 54321,
    ...extra,
  };
}

/** The value of a response header (the first of its name), case-insensitive. */
export function header(res: PhpResponse, name: string): string | undefined {
  for (let i = 0; i < res.headers.length; i += 2) {
    if (res.headers[i].toLowerCase() === name.toLowerCase()) return res.headers[i + 1];
  }
  return undefined;
}

export function headerAll(res: PhpResponse, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.headers.length; i += 2) {
    if (res.headers[i].toLowerCase() === name.toLowerCase()) out.push(res.headers[i + 1]);
  }
  return out;
}

export interface Part {
  name: string;
  value?: string;
  filename?: string;
  type?: string;
  data?: Buffer;
}

/** A multipart/form-data body as a browser sends it. */
export function multipart(parts: Part[], boundary = '----tokio' + Math.random().toString(16).slice(2)): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}`;
    chunks.push(Buffer.from(head + '\r\n\r\n'), p.data ?? Buffer.from(p.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}
