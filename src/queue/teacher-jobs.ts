/**
 * Teacher outputs as jobs on a Redis queue (BullMQ): the coordinator (`dk distill --redis URL`)
 * splits a dataset into shards, and any number of `dk worker --redis URL` processes, on any
 * machines that reach the Redis server, run the teacher over them.
 *
 * Where the data lives: everything a job needs travels through Redis as content-addressed blobs,
 *   dk:blob:<sha256 hex>   the bytes (the teacher's ONNX file, one shard's float32 inputs, one
 *                          shard's float32 outputs), expiring after BLOB_TTL_S,
 * each at most MAX_BLOB_BYTES (stored base64). A job names its blobs by hash; the worker fetches each one and
 * checks its sha256 before using it (a mismatch or a missing blob fails the job without retry),
 * and the coordinator checks the output blob the same way. Workers need no shared disk, only
 * the Redis URL. Teachers with external data files are refused (they are not sent).
 *
 * Same answer: shards start at multiples of the teacher's batch (1000, or the batch fixed in the
 * file), so each worker runs exactly the batches a local run would, and the assembled raw
 * outputs — hence the cache file — are byte-identical to a local run's (tested).
 *
 * Reliability: BullMQ locks each active job and the worker renews the lock; a worker that dies
 * stops renewing, the job is found stalled and goes back to the queue for another worker. Jobs
 * have bounded attempts (ATTEMPTS) with backoff; a malformed payload (TypeBox check) or a blob
 * that fails its hash is an UnrecoverableError: failed at once, never retried.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Queue, UnrecoverableError, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Dataset } from '../data/dataset.js';
import { featureSize } from '../data/dataset.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { UsageError } from '../util/errors.js';
import { Phase, type ProgressSink } from '../util/progress.js';
import { OnnxTeacher, type TeacherSource } from '../distill/teacher.js';
import type { TeacherOutputs, TeacherPrep } from '../distill/modes.js';

export const TEACHER_QUEUE = 'dk-teacher';
export const QUEUE_PREFIX = 'dk';
export const MAX_BLOB_BYTES = 256 * 1024 * 1024;
export const BLOB_TTL_S = 24 * 3600;
/** Rows per shard (rounded up to a multiple of the teacher's batch); DK_QUEUE_SHARD_ROWS overrides. */
export const DEFAULT_SHARD_ROWS = 5000;

const envInt = (name: string, dflt: number): number => {
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

const Sha = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const TeacherShardJob = Type.Object(
  {
    v: Type.Literal(1),
    teacher: Type.Object(
      {
        name: Type.String({ minLength: 1 }),
        blob: Sha,
        outputs: Type.Union([Type.Literal('auto'), Type.Literal('logits'), Type.Literal('probs')]),
        prep: Type.Optional(
          Type.Object(
            {
              mean: Type.Optional(Type.Array(Type.Number())),
              std: Type.Optional(Type.Array(Type.Number())),
              layout: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('nchw'), Type.Literal('nhwc')])),
              output: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    data: Type.Object(
      {
        shape: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 4 }),
        classes: Type.Integer({ minimum: 1 }),
        rows: Type.Integer({ minimum: 1 }),
        blob: Sha,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TeacherShardJob = Static<typeof TeacherShardJob>;
export interface TeacherShardResult {
  blob: string;
  rows: number;
  width: number;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Connection options for a URL (redis://[user:password@]host:port[/db], rediss:// for TLS). */
export function connectionFor(url: string, role: 'worker' | 'coordinator'): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError({ param: 'redis', value: redactUrl(url), detail: 'expected a URL like redis://host:6379 or rediss://user:password@host:6380' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError({ param: 'redis', value: redactUrl(url), detail: `expected a redis:// or rediss:// URL, got protocol '${u.protocol}'` });
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

type Client = Awaited<ReturnType<Queue["getBackend"]>["client"]>;

export const blobKey = (sha: string) => `${QUEUE_PREFIX}:blob:${sha}`;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

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

function float32Of(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Run one shard job (the worker's processor). */
export async function runTeacherShard(client: Client, data: unknown, runtime: RuntimeOptions): Promise<TeacherShardResult> {
  if (!Value.Check(TeacherShardJob, data)) {
    const e = [...Value.Errors(TeacherShardJob, data)][0];
    throw new UnrecoverableError(`malformed teacher-shard job: ${e ? `${e.path || '/'} ${e.message}` : 'does not match the schema'}`);
  }
  const j = data;
  const need = async (sha: string, what: string) => {
    let b: Buffer | null;
    try {
      b = await getBlob(client, sha);
    } catch (e) {
      throw new UnrecoverableError(`${what}: ${(e as Error).message}`);
    }
    if (b === null) throw new UnrecoverableError(`${what}: blob ${sha.slice(0, 12)}… is not in Redis (expired, or the coordinator is gone)`);
    return b;
  };
  const model = await need(j.teacher.blob, `teacher ${j.teacher.name}`);
  const xb = await need(j.data.blob, 'input shard');
  const D = j.data.shape.reduce((a, b) => a * b, 1);
  if (xb.byteLength !== j.data.rows * D * 4) throw new UnrecoverableError(`input shard: ${xb.byteLength} bytes, expected ${j.data.rows}×${D} float32`);
  const ds: Dataset = { x: float32Of(xb), y: new Int32Array(j.data.rows), n: j.data.rows, shape: j.data.shape, classes: j.data.classes, source: 'queue-shard' };
  const src: TeacherSource = { name: j.teacher.name, bytes: new Uint8Array(model.buffer, model.byteOffset, model.byteLength) };
  let t: OnnxTeacher;
  try {
    t = await OnnxTeacher.load(src, { shape: ds.shape, classes: ds.classes }, { outputs: j.teacher.outputs, prep: j.teacher.prep, runtime });
  } catch (e) {
    throw new UnrecoverableError(`teacher ${j.teacher.name}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const out = await t.outputs(ds);
    const blob = await putBlob(client, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), 'teacher outputs');
    return { blob, rows: ds.n, width: out.length / ds.n };
  } finally {
    await t.release();
  }
}

export interface WorkerOptions {
  concurrency?: number;
  threads?: number;
  log?: (line: string) => void;
}

/** A long-running worker on the teacher queue. Resolves with a close function. */
export function startWorker(url: string, o: WorkerOptions = {}): Worker {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const lock = lockMs();
  const runtime: RuntimeOptions = { threads: o.threads };
  let client: Client | null = null;
  const w: Worker = new Worker(
    TEACHER_QUEUE,
    async (job: Job) => {
      client ??= await w.getBackend().client;
      const t0 = performance.now();
      log(`dk worker: job ${job.id} started (attempt ${job.attemptsMade + 1})`);
      // A test hook: hold each job this long first (so a test can kill a worker mid-job).
      const hold = Number(process.env.DK_WORKER_HOLD_MS ?? 0);
      if (hold > 0) await new Promise((r) => setTimeout(r, hold));
      const r = await runTeacherShard(client, job.data, runtime);
      log(`dk worker: job ${job.id} done (${r.rows} rows, ${((performance.now() - t0) / 1000).toFixed(2)} s)`);
      return r;
    },
    { connection: connectionFor(url, 'worker'), prefix: QUEUE_PREFIX, concurrency: o.concurrency ?? 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2 },
  );
  w.on('failed', (job, err) => log(`dk worker: job ${job?.id ?? '?'} failed: ${err.message.split('\n')[0]}`));
  w.on('error', (err) => log(`dk worker: ${err.message.split('\n')[0]}`));
  return w;
}

/** The coordinator lost Redis, or a job failed for good: exit 2 with one line. */
export class QueueError extends UsageError {}

/**
 * A teacher's raw outputs over every row of `data`, computed as shard jobs by workers: the same
 * values `teacher.outputs(data)` gives locally. `t` is the teacher loaded here (it has been
 * checked against the data, and gives the batch that shards are aligned to).
 */
export async function remoteTeacherOutputs(
  url: string,
  src: TeacherSource,
  t: OnnxTeacher,
  opts: { outputs: TeacherOutputs; prep?: TeacherPrep },
  data: Dataset,
  progress?: ProgressSink,
  label = `teacher ${src.name}`,
): Promise<Float32Array> {
  if (src.external?.length) throw new UsageError({ detail: `teacher ${src.name}: its tensors are in external data files, which are not sent to queue workers; run it without {redis}` });
  const log = (text: string) => progress?.({ kind: 'log', text });
  const where = redactUrl(url);
  const queue = new Queue(TEACHER_QUEUE, { connection: connectionFor(url, 'coordinator'), prefix: QUEUE_PREFIX });
  let lastErr = '';
  queue.on('error', (e) => (lastErr = e.message));
  const lost = (e: unknown) => new QueueError(`lost the connection to Redis at ${where} (${(e as Error).message.split('\n')[0] || lastErr}); teacher outputs were not computed`);
  const B = t.fixedBatch ?? 1000;
  const shardRows = Math.ceil(envInt('DK_QUEUE_SHARD_ROWS', DEFAULT_SHARD_ROWS) / B) * B;
  const D = featureSize(data);
  const run = randomBytes(6).toString('hex');
  const phase = progress ? new Phase(progress, `queue-${run}`, `${label} (queue)`, data.n) : null;
  try {
    let client: Client;
    try {
      client = await queue.getBackend().client;
    } catch (e) {
      throw lost(e);
    }
    client.on('error', (e: Error) => (lastErr = e.message)); // reported once, by `lost`
    const jobs: { id: string; start: number; rows: number; done: boolean }[] = [];
    try {
      const teacherBlob = await putBlob(client, src.bytes, `teacher ${src.name}`);
      for (let s = 0, k = 0; s < data.n; s += shardRows, k++) {
        const rows = Math.min(shardRows, data.n - s);
        const x = data.x.subarray(s * D, (s + rows) * D);
        const blob = await putBlob(client, new Uint8Array(x.buffer, x.byteOffset, x.byteLength), `input shard ${k}`);
        const payload: TeacherShardJob = {
          v: 1,
          teacher: { name: src.name, blob: teacherBlob, outputs: opts.outputs, ...(opts.prep ? { prep: opts.prep } : {}) },
          data: { shape: data.shape, classes: data.classes, rows, blob },
        };
        const id = `${run}-${k}`;
        await queue.add('teacher-shard', payload, { jobId: id, attempts: attempts(), backoff: { type: 'fixed', delay: 500 }, removeOnFail: { age: BLOB_TTL_S } });
        jobs.push({ id, start: s, rows, done: false });
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw lost(e);
    }
    log(`${label}: ${jobs.length} shard job(s) of up to ${shardRows} rows on ${where} (queue ${TEACHER_QUEUE})`);
    let out: Float32Array | null = null;
    let doneRows = 0;
    let lastLine = '';
    for (;;) {
      let running = 0;
      let waiting = 0;
      try {
        for (const j of jobs) {
          if (j.done) continue;
          const job = await queue.getJob(j.id);
          if (!job) throw new QueueError(`${label}: job ${j.id} vanished from the queue on ${where}`);
          const state = await job.getState();
          if (state === 'completed') {
            const r = job.returnvalue as TeacherShardResult;
            const b = await getBlob(client, r.blob);
            if (b === null) throw new QueueError(`${label}: the outputs of job ${j.id} are missing from Redis`);
            const o = float32Of(b);
            if (o.length !== j.rows * r.width) throw new QueueError(`${label}: job ${j.id} returned ${o.length} values, expected ${j.rows}×${r.width}`);
            out ??= new Float32Array(data.n * r.width);
            out.set(o, j.start * r.width);
            await client.del(blobKey(r.blob), blobKey(job.data.data.blob)); // the shard's blobs are not needed again
            j.done = true;
            doneRows += j.rows;
            await job.remove().catch(() => undefined);
          } else if (state === 'failed') {
            throw new QueueError(`${label}: job ${j.id} (rows ${j.start}..${j.start + j.rows - 1}) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
          } else if (state === 'active') running++;
          else waiting++;
        }
      } catch (e) {
        // Best effort: the run is over, so its jobs not yet run are taken off the queue.
        await Promise.all(jobs.filter((j) => !j.done).map((j) => queue.remove(j.id).catch(() => 0))).catch(() => undefined);
        if (e instanceof UsageError) throw e;
        throw lost(e);
      }
      const done = jobs.filter((j) => j.done).length;
      phase?.tick(doneRows, `jobs ${done} done, ${running} running, ${waiting} waiting`);
      const line = `${label}: jobs ${done}/${jobs.length} done, ${running} running, ${waiting} waiting`;
      if (line !== lastLine) log(line);
      lastLine = line;
      if (done === jobs.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return out ?? new Float32Array(0);
  } finally {
    phase?.stop();
    await queue.close().catch(() => undefined);
  }
}
