// FastCGI 1.0 records (https://fastcgi-archives.github.io/FastCGI_Specification.html): an 8-byte
// header (version, type, request id, content length, padding length), the content, the padding.
// The addon reads them (native/fastcgi/fcgi_connections.cc); JS writes a response's.

export const enum RecordType {
  EndRequest = 3,
  Stdout = 6,
}

const HEADER = 8;
export const MAX_CONTENT = 0xffff;

/** A record's header written into `into` at `at`, for `length` bytes of content and no padding; returns `into`. */
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
    out.push(writeRecordHeader(Buffer.allocUnsafe(HEADER), 0, type, requestId, part.length), Buffer.from(part.buffer, part.byteOffset, part.length));
  }
  return out;
}

/**
 * Name-value pairs (PARAMS), lengths of 1 byte, or 4 with the top bit set: `each` gets the offsets
 * of every name and value in `content`, nothing copied. The addon checked that they are whole.
 */
export function forEachPair(content: Buffer, each: (name: number, value: number, end: number) => void): void {
  let at = 0;
  const length = (): number => {
    if (content[at] < 0x80) return content[at++];
    const n = content.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return n;
  };
  while (at < content.length) {
    const nameLength = length();
    const valueLength = length();
    each(at, at + nameLength, at + nameLength + valueLength);
    at += nameLength + valueLength;
  }
}
