/**
 * What every job kind on the project's Redis queue shares: the queue's name and key prefix, the
 * connection (URL checks, the password kept out of messages, workers that wait for Redis and a
 * coordinator that gives up fast), the settings read from the environment, and the
 * content-addressed blobs that carry a job's bytes:
 *
 *   dk:blob:<sha256 hex>   the bytes (base64), expiring after BLOB_TTL_S, at most MAX_BLOB_BYTES.
 *
 * A job names its blobs by hash; whoever reads a blob checks its sha256 before using it.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Type } from '@sinclair/typebox';
import { type ConnectionOptions, type Queue, UnrecoverableError } from 'bullmq';
import { UsageError } from '../util/errors.js';
import { redactUrl } from '../util/url.js';
import { nativeSessions } from '../runtime/session.js';

/** The one queue every job kind goes through (a job's name says its kind). */
export const JOB_QUEUE = 'dk-jobs';
export const QUEUE_PREFIX = 'dk';
export const MAX_BLOB_BYTES = 256 * 1024 * 1024;
export const BLOB_TTL_S = 24 * 3600;

export const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name}: expected a positive integer, got '${v}'`);
  return n;
};
/** Attempts per job (DK_QUEUE_ATTEMPTS, default 3). */
export const attempts = () => envInt('DK_QUEUE_ATTEMPTS', 3);
/** The worker's lock duration in ms (DK_QUEUE_LOCK_MS, default 30000); stalled jobs are checked at the same interval. */
export const lockMs = () => envInt('DK_QUEUE_LOCK_MS', 30000);

export { redactUrl };

/** Connection options for a URL (redis://[user:password@]host:port[/db], rediss:// for TLS). */
export function connectionFor(url: string, role: 'worker' | 'coordinator'): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError({ param: 'redis', value: redactUrl(url), detail: 'expected a URL like redis://host:6379 or rediss://user:password@host:6380' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError({ param: 'redis', value: redactUrl(url), detail: `expected a redis:// or rediss:// URL, got protocol '${u.protocol}'` });
  if (u.hostname === '') throw new UsageError({ param: 'redis', value: redactUrl(url), detail: 'names no host; expected a URL like redis://host:6379' });
  requireIoredis();
  // Workers wait for Redis to come back (ioredis retries for ever); the coordinator gives up fast and says so.
  return role === 'worker'
    ? { url, maxRetriesPerRequest: null }
    : { url, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (times: number) => (times > 3 ? null : 200) };
}

/** BullMQ talks to Redis through the optional 'ioredis' package: say so plainly when it is missing. */
export function requireIoredis(): void {
  try {
    createRequire(import.meta.url).resolve('ioredis');
  } catch {
    throw new UsageError({ param: 'redis', detail: "the 'ioredis' package (BullMQ's Redis client) is not installed; install it next to bullmq (npm install ioredis@5)" });
  }
}

export type Client = Awaited<ReturnType<Queue['getBackend']>['client']>;

/** A blob's name in a job payload (TypeBox). */
export const Sha = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** A dataset in a job payload: its shape, class count, rows and source, its examples (float32) and labels (int32) as blobs. */
export const DATA_BLOB_FIELDS = {
  shape: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 4 }),
  classes: Type.Integer({ minimum: 2 }),
  rows: Type.Integer({ minimum: 1 }),
  source: Type.String(),
  x: Sha,
  y: Sha,
};

export const blobKey = (sha: string) => `${QUEUE_PREFIX}:blob:${sha}`;
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Store bytes under their sha256 (a no-op when present, but the expiry is refreshed). */
export async function putBlob(client: Client, bytes: Uint8Array, what: string): Promise<string> {
  if (bytes.byteLength > MAX_BLOB_BYTES) throw new UsageError({ detail: `${what}: ${bytes.byteLength} bytes is over the queue's blob limit of ${MAX_BLOB_BYTES} bytes; run it locally (without {redis})` });
  const sha = sha256(bytes);
  // Base64: BullMQ's client interface (ioredis or node-redis underneath) passes strings.
  await client.set(blobKey(sha), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), { EX: BLOB_TTL_S });
  return sha;
}

/** Fetch a blob and check its hash; null when missing, an Error when it does not match. */
export async function getBlob(client: Client, sha: string): Promise<Buffer | null> {
  const s = await client.get(blobKey(sha));
  if (s === null) return null;
  const b = Buffer.from(s, 'base64');
  const got = sha256(b);
  if (got !== sha) throw new Error(`blob ${sha.slice(0, 12)}… fails its hash check (content hashes to ${got.slice(0, 12)}…)`);
  return b;
}

/**
 * Blobs a worker fetched lately, by hash (content-addressed, so never stale): the specialists'
 * training data and a teacher are the same blob for every job of a run, fetched once per worker
 * rather than once per job. Least recently used first out, at most BLOB_CACHE_BYTES in all.
 */
const BLOB_CACHE_BYTES = 512 * 1024 * 1024;
const blobCache = new Map<string, Buffer>();
let blobCacheBytes = 0;
function remember(sha: string, b: Buffer): void {
  if (b.byteLength > BLOB_CACHE_BYTES / 2) return;
  blobCache.set(sha, b);
  blobCacheBytes += b.byteLength;
  for (const [k, v] of blobCache) {
    if (blobCacheBytes <= BLOB_CACHE_BYTES) break;
    blobCache.delete(k);
    blobCacheBytes -= v.byteLength;
  }
}

/** A worker's fetch of a blob a job needs: missing or corrupt is an UnrecoverableError (not retried). */
export async function needBlob(client: Client, sha: string, what: string): Promise<Buffer> {
  const hit = blobCache.get(sha);
  if (hit) {
    blobCache.delete(sha); // to the back of the line
    blobCache.set(sha, hit);
    return hit;
  }
  let b: Buffer | null;
  try {
    b = await getBlob(client, sha);
  } catch (e) {
    throw new UnrecoverableError(`${what}: ${(e as Error).message}`);
  }
  if (b === null) throw new UnrecoverableError(`${what}: blob ${sha.slice(0, 12)}… is not in Redis (expired, or the coordinator is gone)`);
  remember(sha, b);
  return b;
}

/** Bytes as (aligned) typed arrays. */
export function float32Of(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
export function int32Of(b: Uint8Array): Int32Array {
  const out = new Int32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
export const bytesOf = (a: Float32Array | Int32Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The coordinator lost Redis, or a job failed for good: exit 2 with one line. */
export class QueueError extends UsageError {}

/** What a worker returns for any job: one output blob and plain-JSON facts about it. */
export interface JobOutput {
  blob: string;
  meta: Record<string, unknown>;
  /** The kernels the worker trained with (kernelsInUse; the coordinator requires its own). */
  kernels?: string;
}

/**
 * The kernels this process trains with: the native ones (runtime/native.ts) give the same results
 * as onnxruntime's only to float rounding, so a worker and its coordinator must agree for a job's
 * results to be the local run's bytes.
 */
export function kernelsInUse(): string {
  const n = nativeSessions();
  return n ? `native (${n.description})` : "onnxruntime's own";
}
