/**
 * Results of finished queue jobs, kept on the coordinator's disk as they arrive, so that a rerun
 * after an interruption (Redis stopped, the coordinator killed) sends only the jobs not yet done.
 *
 * A job is named by its key, the sha256 of its kind and payload (jobKey): the payload names every
 * input by its content hash and holds every setting that changes the result, so the same key
 * means the same result, whichever run computed it. One file per job, `<dir>/<key>.dkj`, written
 * atomically (temp file, fsync, rename), little-endian:
 *   0  'DKJR'        magic
 *   4  u32 version (1)
 *   8  32 bytes      the key (raw sha256)
 *  40  32 bytes      sha256 of the result bytes
 *  72  u32 metaLen   then metaLen bytes of JSON (the job's facts), then the result bytes
 * On read every field is checked; a file that fails a check is not used (the job is sent again).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

/** Where a coordinator keeps finished jobs: this sub-directory of its cache directory (default .dk-cache/jobs). */
export const KEPT_SUBDIR = 'jobs';

const MAGIC = 'DKJR';
const VERSION = 1;
const HEADER = 76;

export interface KeptResult {
  meta: Record<string, unknown>;
  bytes: Uint8Array;
}

/** The key of a job: sha256 over its kind and its payload's JSON. */
export function jobKey(name: string, payload: unknown): string {
  return createHash('sha256').update(`dark-knowledge/queue-job/v${VERSION}\n${name}\n${JSON.stringify(payload)}`).digest('hex');
}

export function encodeKept(key: string, r: KeptResult): Buffer {
  const meta = Buffer.from(JSON.stringify(r.meta), 'utf8');
  const buf = Buffer.alloc(HEADER + meta.length + r.bytes.byteLength);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  Buffer.from(key, 'hex').copy(buf, 8);
  createHash('sha256').update(r.bytes).digest().copy(buf, 40);
  buf.writeUInt32LE(meta.length, 72);
  meta.copy(buf, HEADER);
  buf.set(r.bytes, HEADER + meta.length);
  return buf;
}

export function decodeKept(b: Buffer, key: string): KeptResult | { error: string } {
  if (b.length < HEADER) return { error: `too short (${b.length} bytes)` };
  if (b.toString('latin1', 0, 4) !== MAGIC) return { error: 'bad magic' };
  if (b.readUInt32LE(4) !== VERSION) return { error: `format version ${b.readUInt32LE(4)}, expected ${VERSION}` };
  if (b.toString('hex', 8, 40) !== key) return { error: 'key mismatch' };
  const metaLen = b.readUInt32LE(72);
  if (HEADER + metaLen > b.length) return { error: `metadata length ${metaLen} runs past the end` };
  const bytes = new Uint8Array(b.subarray(HEADER + metaLen));
  if (createHash('sha256').update(bytes).digest('hex') !== b.toString('hex', 40, 72)) return { error: 'result checksum mismatch' };
  try {
    const meta = JSON.parse(b.toString('utf8', HEADER, HEADER + metaLen)) as unknown;
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return { error: 'metadata is not a JSON object' };
    return { meta: meta as Record<string, unknown>, bytes };
  } catch (e) {
    return { error: `unreadable metadata (${(e as Error).message})` };
  }
}

/** A directory of kept results. */
export class KeptResults {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private file(key: string): string {
    return join(this.dir, `${key}.dkj`);
  }

  /** The kept result of job `key`, or null (none, or unusable: `onBad` says why). */
  get(key: string, onBad?: (why: string) => void): KeptResult | null {
    const f = this.file(key);
    if (!existsSync(f)) return null;
    let r: ReturnType<typeof decodeKept>;
    try {
      r = decodeKept(readFileSync(f), key);
    } catch (e) {
      r = { error: `unreadable (${(e as Error).message})` };
    }
    if ('error' in r) {
      onBad?.(`${f}: ${r.error}`);
      return null;
    }
    return r;
  }

  put(key: string, r: KeptResult): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file(key), encodeKept(key, r));
  }

  /** Remove these jobs' files, and the directory when nothing else is left in it. */
  remove(keys: readonly string[]): void {
    for (const k of keys) rmSync(this.file(k), { force: true });
    try {
      if (existsSync(this.dir) && readdirSync(this.dir).length === 0) rmdirSync(this.dir);
    } catch {
      /* another run's files appeared meanwhile: leave the directory */
    }
  }
}
