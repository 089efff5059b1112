import { createHash } from 'node:crypto';

/** Lower-case hex SHA-256 over the concatenation of some byte arrays or strings (UTF-8). */
export function sha256Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}
