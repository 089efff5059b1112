/**
 * Teacher outputs as jobs on a Redis queue (BullMQ): the coordinator (`dk distill --redis URL`)
 * splits a dataset into shards, and any number of `dk worker --redis URL` processes, on any
 * machines that reach the Redis server, run the teacher over them.
 *
 * Where the data lives: everything a job needs travels through Redis as content-addressed blobs
 * (./redis.ts): the teacher's ONNX file, one shard's float32 inputs, one shard's float32 outputs.
 * A job names its blobs by hash; the worker fetches each one and checks its sha256 before using
 * it (a mismatch or a missing blob fails the job without retry), and the coordinator checks the
 * output blob the same way. Workers need no shared disk, only the Redis URL. Teachers with
 * external data files are refused (they are not sent).
 *
 * Resuming: finished shards are kept next to the teacher-output cache (`<cache-dir>/jobs/`,
 * ./kept.ts) as they arrive, so a rerun after losing Redis sends only the shards not yet done.
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
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { UnrecoverableError } from 'bullmq';
import type { Dataset } from '../data/dataset.js';
import { featureSize } from '../data/dataset.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { UsageError } from '../util/errors.js';
import type { ProgressSink } from '../util/progress.js';
import { OnnxTeacher, type TeacherSource } from '../distill/teacher.js';
import type { TeacherOutputs, TeacherPrep } from '../distill/modes.js';
import { type JobToRun, runJobs } from './coordinator.js';
import type { KeptResults } from './kept.js';
import { type Client, type JobOutput, QueueError, bytesOf, envInt, float32Of, needBlob, putBlob, Sha, sha256 } from './redis.js';

/** Rows per shard (rounded up to a multiple of the teacher's batch); DK_QUEUE_SHARD_ROWS overrides. */
export const DEFAULT_SHARD_ROWS = 5000;

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
/** Run one shard job (the worker's processor). */
export async function runTeacherShard(client: Client, data: unknown, runtime: RuntimeOptions): Promise<JobOutput> {
  if (!Value.Check(TeacherShardJob, data)) {
    const e = [...Value.Errors(TeacherShardJob, data)][0];
    throw new UnrecoverableError(`malformed teacher-shard job: ${e ? `${e.path || '/'} ${e.message}` : 'does not match the schema'}`);
  }
  const j = data;
  const model = await needBlob(client, j.teacher.blob, `teacher ${j.teacher.name}`);
  const xb = await needBlob(client, j.data.blob, 'input shard');
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
    const blob = await putBlob(client, bytesOf(out), 'teacher outputs');
    return { blob, meta: { rows: ds.n, width: out.length / ds.n } };
  } finally {
    await t.release();
  }
}

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
  keep?: KeptResults | null,
): Promise<Float32Array> {
  if (src.external?.length) throw new UsageError({ detail: `teacher ${src.name}: its tensors are in external data files, which are not sent to queue workers; run it without {redis}` });
  const B = t.fixedBatch ?? 1000;
  const shardRows = Math.ceil(envInt('DK_QUEUE_SHARD_ROWS', DEFAULT_SHARD_ROWS) / B) * B;
  const D = featureSize(data);
  const teacherBlob = sha256(src.bytes);
  const jobs: (JobToRun & { start: number; rows: number })[] = [];
  for (let s = 0; s < data.n; s += shardRows) {
    const rows = Math.min(shardRows, data.n - s);
    const x = bytesOf(data.x.subarray(s * D, (s + rows) * D));
    const payload: TeacherShardJob = {
      v: 1,
      teacher: { name: src.name, blob: teacherBlob, outputs: opts.outputs, ...(opts.prep ? { prep: opts.prep } : {}) },
      data: { shape: data.shape, classes: data.classes, rows, blob: sha256(x) },
    };
    jobs.push({
      name: 'teacher-shard',
      payload,
      blobs: [
        { bytes: src.bytes, what: `teacher ${src.name}` },
        { bytes: x, what: `input shard ${jobs.length}` },
      ],
      what: `rows ${s}..${s + rows - 1}`,
      weight: rows,
      start: s,
      rows,
    });
  }
  progress?.({ kind: 'log', text: `${label}: ${jobs.length} shard job(s) of up to ${shardRows} rows` });
  const results = await runJobs(url, jobs, {
    label,
    unfinished: 'teacher outputs were not computed',
    keep,
    progress,
    check: (i, r) => {
      const { rows, width } = r.meta as { rows: number; width: number };
      const n = r.bytes.byteLength / 4;
      if (rows !== jobs[i].rows || !Number.isInteger(width) || width < 1 || n !== rows * width) throw new QueueError(`${label}: the result for ${jobs[i].what} has ${n} values, expected ${jobs[i].rows}×${width}`);
    },
  });
  const width = (results[0]?.meta.width as number | undefined) ?? 0;
  const out = new Float32Array(data.n * width);
  for (const [i, r] of results.entries()) {
    if ((r.meta.width as number) !== width) throw new QueueError(`${label}: shards disagree on the teacher's output width (${width} and ${String(r.meta.width)})`);
    out.set(float32Of(r.bytes), jobs[i].start * width);
  }
  return out;
}
