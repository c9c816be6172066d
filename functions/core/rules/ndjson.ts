import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LIMITS, overCap } from './limits';

/** One non-blank line of a kind file: its text, or why it could not be read at all. */
export type Line = { lineNo: number; text: string } | { lineNo: number; unreadable: string };

export interface ReadOptions {
  /** A longer line is reported unreadable and its bytes are not kept (memory stays bounded). */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = LIMITS.lineBytes.value;
const NEWLINE = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

async function* gunzipIfNeeded(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = bytes[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest = (async function* () {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    // A gzip bomb costs every later read of the file: it may inflate only so many times its own size.
    let compressed = 0;
    let inflated = 0;
    const counted = (async function* () {
      for await (const chunk of rest) {
        compressed += chunk.length;
        yield chunk;
      }
    })();
    for await (const chunk of Readable.from(counted).pipe(createGunzip()) as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > compressed * LIMITS.inflation.value + 1024 * 1024)
        throw new Error(`it inflates ${overCap('inflation')}`);
      yield chunk;
    }
  } else {
    yield* rest;
  }
}

/**
 * Streams the non-blank lines of an NDJSON file (plain, or gzip detected by its magic bytes), with
 * `\n` or `\r\n` endings and an optional leading BOM. Line numbers count every physical line from 1.
 * Only the current line is held in memory.
 */
export async function* readLines(
  bytes: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<Line> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = false;
  let lineNo = 0;

  const finish = (): Line | undefined => {
    lineNo++;
    if (oversize) {
      oversize = false;
      return {
        lineNo,
        unreadable: `line ${max === LIMITS.lineBytes.value ? overCap('lineBytes') : `longer than ${max} bytes`}`,
      };
    }
    let buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    if (buf.length > 0 && buf[buf.length - 1] === CR) buf = buf.subarray(0, buf.length - 1);
    if (lineNo === 1 && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
      buf = buf.subarray(3);
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      return { lineNo, unreadable: 'not valid UTF-8' };
    }
    return text.trim() === '' ? undefined : { lineNo, text };
  };

  const take = (chunk: Buffer) => {
    if (oversize) return;
    if (size + chunk.length > max) {
      oversize = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(chunk);
    size += chunk.length;
  };

  for await (const raw of gunzipIfNeeded(bytes)) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      take(chunk.subarray(start, nl));
      const line = finish();
      if (line) yield line;
      start = nl + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
  }
  if (size > 0 || oversize) {
    const line = finish();
    if (line) yield line;
  }
}

/** Passes bytes through while hashing them; `digest()` gives the SHA-256 hex once they are consumed. */
export function hashing(bytes: AsyncIterable<Uint8Array>): {
  bytes: AsyncIterable<Uint8Array>;
  digest: () => string;
} {
  const hash = createHash('sha256');
  return {
    bytes: (async function* () {
      for await (const chunk of bytes) {
        hash.update(chunk);
        yield chunk;
      }
    })(),
    digest: () => hash.digest('hex'),
  };
}

/**
 * SHA-256 hex of a stream that should hold exactly `size` bytes, reading no more than that (and the
 * first byte over it): a stream of another length is answered by that, unhashed.
 */
export async function sha256OfSize(
  bytes: AsyncIterable<Uint8Array>,
  size: number,
): Promise<{ readonly sha256: string } | { readonly length: 'larger' | 'smaller' }> {
  const hash = createHash('sha256');
  let seen = 0;
  for await (const chunk of bytes) {
    seen += chunk.length;
    // Leaving the loop closes the stream: nothing past the declared size is read on.
    if (seen > size) return { length: 'larger' };
    hash.update(chunk);
  }
  return seen < size ? { length: 'smaller' } : { sha256: hash.digest('hex') };
}

/** SHA-256 hex of a whole stream. */
export async function sha256Of(bytes: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bytes) hash.update(chunk);
  return hash.digest('hex');
}
