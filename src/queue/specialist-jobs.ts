/**
 * The specialists' training as jobs on the Redis queue: `dk specialists --redis URL` finds the
 * groups here as usual, then sends one job per specialist; `dk worker` processes anywhere run
 * them (each in a worker thread of their own, so the worker's event loop keeps renewing the job's
 * lock) and return the specialist's .onnx bytes.
 *
 * What travels: the generalist's .onnx bytes, the training examples (float32 rows, int32 labels)
 * and the generalist's logits on them, as content-addressed blobs shared by every job of the run
 * (./redis.ts), and in the payload the group, the specialist's training configuration (with its
 * seed, derived from the run's seed and the group as locally), the group share, dropout and the
 * dustbin start, and the onnxruntime thread count a local run would give it (results can depend
 * on it; the worker's own --threads does not apply). So a worker trains exactly what a local
 * worker thread would: the specialists directory is byte-identical to a local run's (tested). The test split is not sent (locally it
 * only feeds the progress log).
 *
 * Resuming: each finished specialist is kept on the coordinator's disk as it arrives (./kept.ts,
 * `<cache-dir>/jobs/`), so a rerun after losing Redis trains only the ones not yet done.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { UnrecoverableError } from 'bullmq';
import type { Dataset } from '../data/dataset.js';
import { JobError, runInWorker } from '../runtime/worker.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { type SpecialistJobArgs, type SpecialistJobResult, type TrainSpecialistsOptions, JOB_REGISTRY, specialistConfig } from '../specialists/workers.js';
import type { TrainConfig } from '../train/trainer.js';
import { validateTrainConfig } from '../train/config.js';
import { type JobToRun, runJobs } from './coordinator.js';
import { KeptResults } from './kept.js';
import { type Client, DATA_BLOB_FIELDS, type JobOutput, QueueError, Sha, bytesOf, float32Of, int32Of, needBlob, putBlob, sha256 } from './redis.js';

export const SpecialistJob = Type.Object(
  {
    v: Type.Literal(1),
    index: Type.Integer({ minimum: 0 }),
    group: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
    generalist: Sha,
    data: Type.Object({ ...DATA_BLOB_FIELDS, logits: Sha }, { additionalProperties: false }),
    config: Type.Record(Type.String(), Type.Unknown()),
    groupShare: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    /** onnxruntime threads, as the coordinator's local run would give this specialist (results can depend on it). */
    threads: Type.Integer({ minimum: 1, maximum: 1024 }),
    dropout: Type.Optional(Type.Object({ dropout: Type.Optional(Type.Number()), inputDropout: Type.Optional(Type.Number()) }, { additionalProperties: false })),
    dustbinInit: Type.Optional(Type.Union([Type.Literal('mean'), Type.Literal('fit')])),
  },
  { additionalProperties: false },
);
export type SpecialistJob = Static<typeof SpecialistJob>;

/** The result's facts besides the .onnx bytes (SpecialistJobResult without `onnx`). */
type SpecialistMeta = Omit<SpecialistJobResult, 'onnx'>;

/** Run one specialist job (the worker's processor): in a worker thread, as trainSpecialists does locally. */
export async function runSpecialistJob(client: Client, data: unknown, _runtime: RuntimeOptions, log: (line: string) => void, signal?: AbortSignal): Promise<JobOutput> {
  if (!Value.Check(SpecialistJob, data)) {
    const e = [...Value.Errors(SpecialistJob, data)][0];
    throw new UnrecoverableError(`malformed specialist job: ${e ? `${e.path || '/'} ${e.message}` : 'does not match the schema'}`);
  }
  const j = data;
  const config = j.config as unknown as TrainConfig;
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new UnrecoverableError(`malformed specialist job: /config ${(e as Error).message}`);
  }
  const generalist = await needBlob(client, j.generalist, 'generalist');
  const xb = await needBlob(client, j.data.x, 'training examples');
  const yb = await needBlob(client, j.data.y, 'training labels');
  const lb = await needBlob(client, j.data.logits, "the generalist's logits");
  const { rows } = j.data;
  const D = j.data.shape.reduce((a, b) => a * b, 1);
  if (xb.byteLength !== rows * D * 4) throw new UnrecoverableError(`training examples: ${xb.byteLength} bytes, expected ${rows}×${D} float32`);
  if (yb.byteLength !== rows * 4) throw new UnrecoverableError(`training labels: ${yb.byteLength} bytes, expected ${rows} int32`);
  if (lb.byteLength === 0 || lb.byteLength % (rows * 4) !== 0) throw new UnrecoverableError(`the generalist's logits: ${lb.byteLength} bytes, expected ${rows} rows of float32`);
  const train: Dataset = { x: float32Of(xb), y: int32Of(yb), n: rows, shape: j.data.shape, classes: j.data.classes, source: j.data.source };
  const args: SpecialistJobArgs = {
    index: j.index,
    generalist: new Uint8Array(generalist.buffer, generalist.byteOffset, generalist.byteLength),
    group: j.group,
    train,
    generalistLogits: float32Of(lb),
    config,
    groupShare: j.groupShare,
    threads: j.threads,
    dropout: j.dropout,
    dustbinInit: j.dustbinInit,
  };
  log(`specialist-${j.index} {${j.group.join(',')}}: ${j.config.epochs as number} epoch(s) on ${rows} examples, ${j.threads} onnxruntime thread(s) (the coordinator's, for the same bytes)`);
  let r: SpecialistJobResult;
  try {
    r = (await runInWorker(JOB_REGISTRY, 'specialist', args, (e) => e.kind === 'log' && log(e.text), signal)) as SpecialistJobResult;
  } catch (e) {
    // Bad input gives the same error on every try: fail it for good. Anything else (a crash, a
    // killed thread) may go better elsewhere: BullMQ retries it.
    const err = e as Error & { exitCode?: number };
    if (err.exitCode === 2 || (e instanceof JobError && ['RangeError', 'TypeError', 'UsageError'].includes(e.name))) throw new UnrecoverableError(`specialist {${j.group.join(',')}}: ${err.message.split('\n')[0]}`);
    throw e;
  }
  const { onnx, ...meta } = r;
  const bytes = onnx instanceof Uint8Array ? onnx : new Uint8Array(onnx as ArrayLike<number>);
  return { blob: await putBlob(client, bytes, `specialist {${j.group.join(',')}}`), meta: meta as unknown as Record<string, unknown> };
}

/** trainSpecialists with `redis`: the specialists trained by queue workers, in the order of `groups`. */
export async function remoteTrainSpecialists(url: string, o: TrainSpecialistsOptions, threads: number): Promise<SpecialistJobResult[]> {
  const generalist = { bytes: o.generalist, what: 'generalist' };
  const x = { bytes: bytesOf(o.train.x), what: 'training examples' };
  const y = { bytes: bytesOf(o.train.y), what: 'training labels' };
  const logits = { bytes: bytesOf(o.generalistLogits), what: "the generalist's logits" };
  if (o.generalistLogits.length % o.train.n !== 0) throw new RangeError(`trainSpecialists: generalistLogits has ${o.generalistLogits.length} values for ${o.train.n} examples`);
  const [gSha, xSha, ySha, lSha] = [generalist, x, y, logits].map((b) => sha256(b.bytes));
  const jobs: JobToRun[] = o.groups.map((g, i) => {
    const { checkpoint: _none, ...config } = specialistConfig(o.config, g);
    const payload: SpecialistJob = {
      v: 1,
      index: i,
      group: [...g],
      generalist: gSha,
      data: { shape: [...o.train.shape], classes: o.train.classes, rows: o.train.n, source: o.train.source, x: xSha, y: ySha, logits: lSha },
      config: config as unknown as Record<string, unknown>,
      groupShare: o.groupShare ?? 0.5,
      threads,
      ...(o.dropout ? { dropout: o.dropout } : {}),
      ...(o.dustbinInit ? { dustbinInit: o.dustbinInit } : {}),
    };
    return { name: 'specialist', payload, blobs: [generalist, x, y, logits], what: `specialist-${i} {${g.join(',')}}` };
  });
  const label = `specialists (${o.groups.length})`;
  o.progress?.({ kind: 'log', text: `training ${o.groups.length} specialist(s) as jobs on the queue` });
  const results = await runJobs(url, jobs, {
    label,
    unfinished: 'the specialists were not all trained, nothing written',
    keep: o.keepDir ? new KeptResults(o.keepDir) : null,
    progress: o.progress,
    signal: o.signal,
    rerun: o.rerun,
    check: (i, r) => {
      const m = r.meta as unknown as SpecialistMeta;
      const want = [...o.groups[i]].sort((a, b) => a - b).join(',');
      if (m.index !== i || !Array.isArray(m.group) || m.group.join(',') !== want || r.bytes.byteLength === 0) {
        throw new QueueError(`${label}: the result for ${jobs[i].what} is for another job (index ${String(m.index)}, group {${Array.isArray(m.group) ? m.group.join(',') : '?'}})`);
      }
    },
  });
  return results.map((r) => ({ ...(r.meta as unknown as SpecialistMeta), onnx: r.bytes }));
}
