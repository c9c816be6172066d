import { createHash } from 'node:crypto';
import { isWellFormed } from './limits';

const MAX_NAME_BYTES = 255;
// Path separators, control characters (C0, DEL, C1) and the characters that are unsafe in object keys.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (DQ-6)
const UNSAFE = /[/\\\u0000-\u001f\u007f-\u009f]/g;

/** Object keys keep each file-name segment to this many bytes, so that they fit any file-system-backed store. */
export const KEY_SEGMENT_BYTES = 200;

/**
 * Rule DQ-6: a file name with path separators, `..`, control characters or over 255 bytes is made
 * safe. The result is one path segment (never empty, `.` or `..`) of at most `maxBytes` UTF-8 bytes.
 */
export function safeFileName(name: string, maxBytes = MAX_NAME_BYTES): string {
  let safe = name
    .normalize('NFC')
    .replace(UNSAFE, '_')
    .replace(/\.{2,}/g, '_')
    .trim();
  if (safe === '' || safe === '.') safe = 'file';
  if (Buffer.byteLength(safe, 'utf8') <= maxBytes) return safe;
  const dot = safe.lastIndexOf('.');
  const ext = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
  const tag = `~${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8)}`;
  const budget = maxBytes - Buffer.byteLength(tag + ext, 'utf8');
  let stem = '';
  for (const ch of safe.slice(0, safe.length - ext.length)) {
    if (Buffer.byteLength(stem + ch, 'utf8') > budget) break;
    stem += ch;
  }
  return stem + tag + ext;
}

/**
 * A file-system or object-key segment for an id that may hold anything (ids are arbitrary strings):
 * the id itself when it is plainly safe, otherwise a stable hash of it.
 */
export function safeIdSegment(id: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(id)) return id;
  return `~${idHash(id).slice(0, 32)}`;
}

/**
 * A stable hash of an id as the exact string it is: the UTF-16 code units of one that UTF-8 cannot
 * carry (a lone surrogate would become U+FFFD, and distinct ids would hash alike).
 */
export const idHash = (id: string): string =>
  createHash('sha256')
    .update(isWellFormed(id) ? Buffer.from(id, 'utf8') : Buffer.from(id, 'utf16le'))
    .digest('base64url');
