// FastCGI 1.0 records (https://fastcgi-archives.github.io/FastCGI_Specification.html): an 8-byte
// header (version, type, request id, content length, padding length), the content, the padding.
// The reader is incremental: bytes arrive in any split, and a record's content is handed on as a
// view of what arrived when it arrived whole (no copy), else of one buffer it was gathered in.

export const enum RecordType {
  BeginRequest = 1,
  AbortRequest = 2,
  EndRequest = 3,
  Params = 4,
  Stdin = 5,
  Stdout = 6,
  Stderr = 7,
  Data = 8,
  GetValues = 9,
  GetValuesResult = 10,
  UnknownType = 11,
}

export const enum Role { Responder = 1, Authorizer = 2, Filter = 3 }
export const enum ProtocolStatus { RequestComplete = 0, CantMpxConn = 1, Overloaded = 2, UnknownRole = 3 }
/** BEGIN_REQUEST's flag: the server keeps the connection open after the request */
export const KEEP_CONN = 1;

const HEADER = 8;
export const MAX_CONTENT = 0xffff;

export interface FcgiRecord {
  type: RecordType;
  requestId: number;
  content: Buffer;
}

/** Turns a byte stream into records; throws on what no FastCGI client sends. */
export class RecordReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The records completed by `chunk`, in order. */
  push(chunk: Buffer): FcgiRecord[] {
    let data = chunk;
    if (this.#pendingBytes) {
      this.#pending.push(chunk);
      data = Buffer.concat(this.#pending, this.#pendingBytes + chunk.length);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const records: FcgiRecord[] = [];
    let at = 0;
    while (data.length - at >= HEADER) {
      if (data[at] !== 1) throw new Error(`a record of FastCGI version ${data[at]}, not 1`);
      const length = data.readUInt16BE(at + 4);
      const end = at + HEADER + length + data[at + 6];
      if (data.length < end) break;
      records.push({ type: data[at + 1], requestId: data.readUInt16BE(at + 2), content: data.subarray(at + HEADER, at + HEADER + length) });
      at = end;
    }
    if (at < data.length) {
      this.#pending.push(data.subarray(at));
      this.#pendingBytes = data.length - at;
    }
    return records;
  }
}

/** One record's 8-byte header, for `length` bytes of content and no padding. */
export function recordHeader(type: RecordType, requestId: number, length: number): Buffer {
  return writeRecordHeader(Buffer.allocUnsafe(HEADER), 0, type, requestId, length);
}

/** A record's header written into `into` at `at`; returns `into`. */
export function writeRecordHeader(into: Buffer, at: number, type: RecordType, requestId: number, length: number): Buffer {
  into[at] = 1;
  into[at + 1] = type;
  into.writeUInt16BE(requestId, at + 2);
  into.writeUInt16BE(length, at + 4);
  into[at + 6] = 0;
  into[at + 7] = 0;
  return into;
}

/** The empty STDOUT that ends the stream and END_REQUEST, as written after a response. */
export const END_RECORDS_LENGTH = 2 * HEADER + 8;

/** The end of a response (an empty STDOUT, END_REQUEST) written into `into` at `at`. */
export function writeEnd(into: Buffer, at: number, requestId: number, appStatus: number): Buffer {
  writeRecordHeader(into, at, RecordType.Stdout, requestId, 0);
  writeRecordHeader(into, at + HEADER, RecordType.EndRequest, requestId, 8);
  into.writeUInt32BE(appStatus >>> 0, at + 2 * HEADER);
  into.fill(0, at + 2 * HEADER + 4, at + END_RECORDS_LENGTH); // RequestComplete, reserved
  return into;
}

/** `body` as records of `type`, each at most MAX_CONTENT bytes: [header, content, header, ...]. */
export function records(type: RecordType, requestId: number, body: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += MAX_CONTENT) {
    const part = body.subarray(at, Math.min(body.length, at + MAX_CONTENT));
    out.push(recordHeader(type, requestId, part.length), Buffer.from(part.buffer, part.byteOffset, part.length));
  }
  return out;
}

export function endRequest(requestId: number, appStatus: number, protocolStatus: ProtocolStatus): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus >>> 0, 0);
  body[4] = protocolStatus;
  return Buffer.concat([recordHeader(RecordType.EndRequest, requestId, 8), body]);
}

/**
 * Name-value pairs (PARAMS, GET_VALUES), lengths of 1 byte, or 4 with the top bit set: `each` gets
 * the offsets of every name and value in `content`, nothing copied.
 */
export function forEachPair(content: Buffer, each: (name: number, value: number, end: number) => void): void {
  let at = 0;
  const length = (): number => {
    if (at >= content.length) throw new Error('a name-value pair runs past its record');
    if (content[at] < 0x80) return content[at++];
    if (at + 4 > content.length) throw new Error('a name-value pair runs past its record');
    const n = content.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return n;
  };
  while (at < content.length) {
    const nameLength = length();
    const valueLength = length();
    if (at + nameLength + valueLength > content.length) throw new Error('a name-value pair runs past its record');
    each(at, at + nameLength, at + nameLength + valueLength);
    at += nameLength + valueLength;
  }
}

/** The pairs as strings (latin1): name, value, ... */
export function readPairs(content: Buffer, into: string[]): void {
  forEachPair(content, (name, value, end) => into.push(content.toString('latin1', name, value), content.toString('latin1', value, end)));
}

export function writePairs(pairs: readonly [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const length = (n: number) => {
    if (n < 0x80) return Buffer.from([n]);
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
  };
  for (const [name, value] of pairs) parts.push(length(name.length), length(value.length), Buffer.from(name + value, 'latin1'));
  return Buffer.concat(parts);
}
