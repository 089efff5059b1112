import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../util/errors.js';

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Read a whole file as bytes, transparently gunzipping it when it starts with the gzip magic
 * (whatever its extension). Every failure a user can cause (missing, unreadable, a directory,
 * corrupt gzip) becomes a one-line UsageError naming the file.
 */
export function readFileBytes(path: string, what = 'file'): Uint8Array {
  let raw: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${path}: expected a ${what}, found a directory`);
    raw = readFileSync(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: cannot read ${what} (${describeFsError(e)})`);
  }
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new UsageError(`${path}: corrupt gzip data (${(e as Error).message}); expected a complete .gz ${what}`);
  }
}

/** A short reason from a node fs error (code and message), without a stack. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT') return 'no such file';
  if (err && (err.code === 'EACCES' || err.code === 'EPERM')) return 'permission denied';
  if (err && err.code === 'EISDIR') return 'is a directory';
  if (err && err.code) return `${err.code}: ${err.message}`;
  return String((err && err.message) || err);
}
