/**
 * The paper job's training runs as jobs on the Redis queue: `dk paper --redis URL` trains the
 * teacher as usual, then sends every later run (PaperSession.fit) as a 'paper-fit' job, and
 * `dk worker` processes anywhere train them — each in a worker thread of its own, so the
 * worker's event loop keeps renewing the job's lock — with the code a local run uses
 * (trainFit, src/paper/fit.ts), and return the network's .onnx bytes.
 *
 * What travels: the training set, the test set and the eval sets (float32 examples, int32
 * labels, the example ids of a subset), the teacher's log-probabilities or the online teacher's
 * .onnx bytes, as content-addressed blobs (./redis.ts; the training set is one blob for every
 * job that trains on it); in the payload the model spec, its options, the full training config
 * (the students' warm-up already in it) and the onnxruntime thread count of the coordinator's
 * run (results can depend on it; the worker's own --threads does not apply). So a worker trains
 * exactly what the local run would: results.json and the models are a local run's (tested).
 *
 * Batching: runs asked for while others are in flight are collected for BATCH_MS and sent as one
 * batch (one runJobs call, one progress bar); each run's result is handed back as it arrives.
 *
 * Resuming: each finished run is saved in the paper job's resume cache as it arrives
 * (PaperSession.fit, src/paper/cache.ts), so after losing Redis `dk paper --redis URL --resume`
 * sends only the runs not yet done.
 */
import { cpus } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { UnrecoverableError } from 'bullmq';
import type { Dataset } from '../data/dataset.js';
import { type FitJobArgs, type FitJobResult, type FitRun, FIT_JOB_REGISTRY } from '../paper/fit.js';
import { JobError, runInWorker } from '../runtime/worker.js';
import type { RuntimeOptions } from '../runtime/session.js';
import type { TrainConfig } from '../train/trainer.js';
import { validateTrainConfig } from '../train/config.js';
import type { ProgressSink } from '../util/progress.js';
import { type JobToRun, runJobs } from './coordinator.js';
import type { KeptResult } from './kept.js';
import { type Client, DATA_BLOB_FIELDS, type JobOutput, QueueError, Sha, bytesOf, float32Of, int32Of, needBlob, putBlob, sha256 } from './redis.js';

/** How long runs asked for at about the same time are collected into one batch. */
const BATCH_MS = 50;

const DataBlobs = Type.Object(
  {
    ...DATA_BLOB_FIELDS,
    /** A subset's example ids in the set it was taken from (teacher targets are looked up by them). */
    ids: Type.Optional(Sha),
  },
  { additionalProperties: false },
);
type DataBlobs = Static<typeof DataBlobs>;

export const PaperFitJob = Type.Object(
  {
    v: Type.Literal(1),
    label: Type.String({ minLength: 1 }),
    spec: Type.String({ minLength: 1 }),
    classes: Type.Integer({ minimum: 2 }),
    options: Type.Object(
      {
        dropout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
        inputDropout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
        batchNorm: Type.Optional(Type.Boolean()),
        activation: Type.Optional(Type.Union([Type.Literal('relu'), Type.Literal('tanh')])),
      },
      { additionalProperties: false },
    ),
    config: Type.Record(Type.String(), Type.Unknown()),
    /** onnxruntime threads, as the coordinator's local run would train with (results can depend on it). */
    threads: Type.Integer({ minimum: 1, maximum: 1024 }),
    data: DataBlobs,
    test: DataBlobs,
    evalSets: Type.Array(DataBlobs),
    /** Teacher log-probabilities by example id (float32, classes per row). */
    teacher: Type.Optional(Sha),
    /** Or the teacher run online on each batch: its .onnx bytes and what names it. */
    online: Type.Optional(Type.Object({ onnx: Sha, identity: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type PaperFitJob = Static<typeof PaperFitJob>;

/** The result's facts besides the .onnx bytes. */
type FitMeta = Omit<FitJobResult, 'onnx'>;

const malformed = (detail: string) => new UnrecoverableError(`malformed paper-fit job: ${detail}`);

async function datasetOf(client: Client, d: DataBlobs, what: string): Promise<Dataset> {
  const D = d.shape.reduce((a, b) => a * b, 1);
  const x = await needBlob(client, d.x, `${what}: examples`);
  const y = await needBlob(client, d.y, `${what}: labels`);
  const ids = d.ids === undefined ? undefined : await needBlob(client, d.ids, `${what}: example ids`);
  if (x.byteLength !== d.rows * D * 4) throw new UnrecoverableError(`${what}: examples: ${x.byteLength} bytes, expected ${d.rows}×${D} float32`);
  if (y.byteLength !== d.rows * 4) throw new UnrecoverableError(`${what}: labels: ${y.byteLength} bytes, expected ${d.rows} int32`);
  if (ids && ids.byteLength !== d.rows * 4) throw new UnrecoverableError(`${what}: example ids: ${ids.byteLength} bytes, expected ${d.rows} int32`);
  return { x: float32Of(x), y: int32Of(y), n: d.rows, shape: d.shape, classes: d.classes, source: d.source, ...(ids ? { ids: int32Of(ids) } : {}) };
}

/** Run one paper-fit job (the worker's processor): in a worker thread, as PaperSession.fit does locally. */
export async function runPaperFitJob(client: Client, data: unknown, _runtime: RuntimeOptions, log: (line: string) => void, signal?: AbortSignal): Promise<JobOutput> {
  if (!Value.Check(PaperFitJob, data)) {
    const e = [...Value.Errors(PaperFitJob, data)][0];
    throw malformed(e ? `${e.path || '/'} ${e.message}` : 'does not match the schema');
  }
  const j = data;
  const cfg = j.config as unknown as TrainConfig;
  if (cfg.checkpoint !== undefined) throw malformed('/config/checkpoint a paper run on a worker writes no checkpoints (the coordinator keeps finished runs)');
  try {
    validateTrainConfig(cfg);
  } catch (e) {
    throw malformed(`/config ${(e as Error).message}`);
  }
  const train = await datasetOf(client, j.data, 'training set');
  const test = await datasetOf(client, j.test, 'test set');
  const evalSets: Dataset[] = [];
  for (const [i, d] of j.evalSets.entries()) evalSets.push(await datasetOf(client, d, `eval set ${i + 1}`));
  let teacher: Float32Array | undefined;
  if (j.teacher !== undefined) {
    const b = await needBlob(client, j.teacher, "the teacher's log-probabilities");
    if (b.byteLength === 0 || b.byteLength % (j.classes * 4) !== 0) throw new UnrecoverableError(`the teacher's log-probabilities: ${b.byteLength} bytes, expected rows of ${j.classes} float32`);
    teacher = float32Of(b);
  }
  const online = j.online && { onnx: new Uint8Array(await needBlob(client, j.online.onnx, 'the online teacher')), identity: j.online.identity };
  const args: FitJobArgs = {
    label: j.label,
    spec: j.spec,
    classes: j.classes,
    options: j.options,
    cfg,
    data: train,
    test,
    ...(evalSets.length ? { evalSets } : {}),
    teacher,
    online,
    threads: j.threads,
  };
  log(`${j.label}: ${j.spec}, ${cfg.epochs} epoch(s) on ${train.n} examples, ${j.threads} onnxruntime thread(s) (the coordinator's, for the same bytes)`);
  let r: FitJobResult;
  try {
    r = (await runInWorker(FIT_JOB_REGISTRY, 'paper-fit', args, (e) => e.kind === 'log' && log(e.text), signal)) as FitJobResult;
  } catch (e) {
    // Bad input, or a loss that diverged again at half the lr, gives the same error on every
    // try: fail it for good. Anything else (a crash, a killed thread) may go better elsewhere.
    const err = e as Error & { exitCode?: number };
    if (err.exitCode === 2 || err.exitCode === 3 || (e instanceof JobError && ['RangeError', 'TypeError', 'UsageError', 'DivergenceError'].includes(e.name))) {
      throw new UnrecoverableError(`${j.label}: ${err.message.split('\n')[0]}`);
    }
    throw e;
  }
  const { onnx, ...meta } = r;
  const bytes = onnx instanceof Uint8Array ? onnx : new Uint8Array(onnx as ArrayLike<number>);
  return { blob: await putBlob(client, bytes, j.label), meta: meta as unknown as Record<string, unknown> };
}

/** A finished run as it comes back from the queue. */
export interface QueuedFit extends FitMeta {
  onnx: Uint8Array;
}

/**
 * The coordinator's side: PaperSession.fit hands each run here; runs asked for within BATCH_MS
 * of each other go to the queue as one batch, and each resolves as its result arrives. Once
 * `signal` aborts (another part of the job failed) the batches in flight stop and new runs are
 * refused with its reason.
 */
export class FitQueue {
  private pending: { job: JobToRun; resolve: (r: QueuedFit) => void; reject: (e: unknown) => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private batches = 0;
  private readonly hashes = new WeakMap<object, string>();
  private readonly onnxOf = new WeakMap<object, Uint8Array>();

  constructor(
    private readonly url: string,
    private readonly progress: ProgressSink,
    private readonly signal: AbortSignal,
    /** The resume cache, named in the message when the run stops. */
    private readonly cacheDir: string,
  ) {}

  fit(run: FitRun): Promise<QueuedFit> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    const job = this.jobOf(run);
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      this.timer ??= setTimeout(() => this.send(), BATCH_MS);
    });
  }

  private blob(a: Float32Array | Int32Array | Uint8Array, what: string): { bytes: Uint8Array; what: string; sha: string } {
    const bytes = a instanceof Uint8Array ? a : bytesOf(a);
    let sha = this.hashes.get(a);
    if (sha === undefined) this.hashes.set(a, (sha = sha256(bytes)));
    return { bytes, what, sha };
  }

  private jobOf(r: FitRun): JobToRun {
    const blobs: { bytes: Uint8Array; what: string; sha: string }[] = [];
    const add = (a: Float32Array | Int32Array | Uint8Array, what: string) => {
      const b = this.blob(a, what);
      blobs.push(b);
      return b.sha;
    };
    const dataOf = (d: Dataset, what: string): DataBlobs => ({
      shape: [...d.shape],
      classes: d.classes,
      rows: d.n,
      source: d.source,
      x: add(d.x, `${what} (examples)`),
      y: add(d.y, `${what} (labels)`),
      ...(d.ids ? { ids: add(d.ids, `${what} (example ids)`) } : {}),
    });
    // The online teacher's bytes: the same network gives the same bytes, hashed once per network.
    let online: PaperFitJob['online'];
    if (r.online) {
      let onnx = this.onnxOf.get(r.online.net);
      if (!onnx) this.onnxOf.set(r.online.net, (onnx = r.online.net.toOnnx()));
      online = { onnx: add(onnx, 'the online teacher'), identity: r.online.identity };
    }
    const payload: PaperFitJob = {
      v: 1,
      label: r.label,
      spec: r.spec,
      classes: r.classes,
      options: { ...r.options },
      config: JSON.parse(JSON.stringify(r.cfg)) as Record<string, unknown>,
      threads: r.runtime.threads ?? cpus().length,
      data: dataOf(r.data, `${r.label}: training set`),
      test: dataOf(r.test, 'test set'),
      evalSets: (r.evalSets ?? []).map((d, i) => dataOf(d, `${r.label}: eval set ${i + 1}`)),
      ...(r.teacher ? { teacher: add(r.teacher, "the teacher's log-probabilities") } : {}),
      ...(online ? { online } : {}),
    };
    return { name: 'paper-fit', payload, blobs, what: r.label };
  }

  private send(): void {
    this.timer = null;
    const batch = this.pending.splice(0);
    const label = `training runs, batch ${++this.batches} (${batch.length})`;
    const jobs = batch.map((b) => b.job);
    runJobs(this.url, jobs, {
      label,
      unfinished: `the paper job's training runs were not all done, nothing written; the finished ones are saved in ${this.cacheDir}: rerun with --resume to continue`,
      progress: this.progress,
      signal: this.signal,
      check: (i, r) => {
        const m = r.meta as Partial<FitMeta>;
        const last = Array.isArray(m.history) ? m.history[m.history.length - 1] : undefined;
        if (!(typeof m.lr === 'number' && m.lr > 0) || !last?.test || typeof m.seconds !== 'number' || !Array.isArray(m.notes) || r.bytes.byteLength === 0) {
          throw new QueueError(`${label}: the result for ${jobs[i].what} is incomplete (no lr, history, time or notes); is the worker's dark-knowledge the coordinator's version?`);
        }
      },
      onResult: (i, r: KeptResult) => batch[i].resolve({ ...(r.meta as unknown as FitMeta), onnx: r.bytes }),
    }).catch((e: unknown) => {
      for (const b of batch) b.reject(e); // those already resolved stay resolved
    });
  }
}
