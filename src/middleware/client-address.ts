// TRUSTED_PROXIES (nginx's realip module, real_ip_recursive on): when the peer is a trusted
// proxy, the client is the last address of X-Forwarded-For (or of Forwarded's for=) that is not
// itself a trusted proxy. PHP's REMOTE_ADDR, the rate limit and the access log all use it.
import { BlockList, isIP } from 'node:net';
import type { Middleware } from './chain.js';

/** The trusted proxies: addresses and ranges, and (`unix:`, as nginx's set_real_ip_from) any peer on a Unix socket. */
export interface TrustedProxies {
  addresses: BlockList;
  unix: boolean;
}

/** "10.0.0.0/8, 127.0.0.1, ::1, unix:" -> the trusted proxies; throws naming the entry it cannot read. */
export function parseTrustedProxies(text: string): TrustedProxies {
  const list = new BlockList();
  let unix = false;
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    if (entry === 'unix:') {
      unix = true;
      continue;
    }
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!family || extra !== undefined || !/^\d*$/.test(bits ?? '') || prefix > max || bits === '') throw new Error(entry);
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return { addresses: list, unix };
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

function trusted(list: TrustedProxies, address: string): boolean {
  // a peer on a Unix socket is "unix:" (src/http/listener.ts: the gate names it as nginx does)
  if (address.startsWith('unix:')) return list.unix;
  const v4 = MAPPED_V4.exec(address)?.[1] ?? address;
  const family = isIP(v4);
  return family !== 0 && list.addresses.check(v4, family === 4 ? 'ipv4' : 'ipv6');
}

/** Forwarded's for= values, in order: quotes, brackets and ports taken off. */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
      if (bracketed) value = bracketed[1];
      else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
      out.push(value);
    }
  }
  return out;
}

/** The client behind trusted proxies; `peer` when it is not one or names none. */
export function clientAddress(list: TrustedProxies, peer: string, xForwardedFor: string, forwarded: string): string {
  if (!trusted(list, peer)) return peer;
  const chain = xForwardedFor ? xForwardedFor.split(',').map((a) => a.trim()) : forwardedFor(forwarded);
  let client = peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!isIP(chain[i])) break; // garbage: stop at the last address that could be read
    client = chain[i];
    if (!trusted(list, client)) break;
  }
  return client;
}

export function realIp(list: TrustedProxies): Middleware {
  return {
    name: 'real-ip',
    priority: 1, // before anything that keys on the client
    onRequest(ctx) {
      ctx.clientAddr = clientAddress(list, ctx.head.remoteAddr, ctx.header('x-forwarded-for'), ctx.header('forwarded'));
      return undefined;
    },
  };
}
