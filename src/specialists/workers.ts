/**
 * Training the specialists in parallel. They are independent (each starts from the generalist
 * and sees only its own folded data), so each one is a job run in its own worker thread
 * (`runInWorker` with the registry in ./jobs.ts), with its own ORT sessions and an intra-op
 * thread budget of max(1, ⌊threads / workers⌋). At most `workers` run at once; the rest wait in
 * a queue. `workers = 0` trains them one after another in the calling thread (library use,
 * tests).
 *
 * The training examples and the generalist's logits are copied once into SharedArrayBuffers,
 * so every worker reads the same memory instead of receiving a copy. Progress: one bar per
 * specialist (all its epochs), plus a log line per epoch.
 */
import { availableParallelism } from 'node:os';
import type { Dataset } from '../data/dataset.js';
import type { ModelOptions } from '../nn/spec.js';
import { runInWorker } from '../runtime/worker.js';
import { Network } from '../train/network.js';
import type { TrainConfig, TrainEvent } from '../train/trainer.js';
import { type ProgressSink, silent } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import type { DustbinInit } from './dustbin.js';
import { trainSpecialist } from './train.js';

/** Seed of the specialist for `group`: derived from the run's seed and the group itself. */
export function specialistSeed(seed: number, group: readonly number[]): number {
  return Rng.derive(seed, `specialist/${group.join(',')}`).nextU32() >>> 1;
}

/** Intra-op threads per worker: max(1, ⌊threads / workers⌋). */
export function threadsPerWorker(threads: number, workers: number): number {
  return Math.max(1, Math.floor(threads / Math.max(1, workers)));
}

export interface SpecialistJobArgs {
  /** Position in the list of specialists (names its progress bar). */
  index: number;
  /** The generalist as .onnx bytes (a dark-knowledge model). */
  generalist: Uint8Array;
  group: number[];
  train: Dataset;
  generalistLogits: Float32Array;
  test?: Dataset;
  /** The training configuration; its seed is this specialist's own. */
  config: TrainConfig;
  groupShare: number;
  threads?: number;
  /** Dropout overrides for the specialist (the architecture is the generalist's). */
  dropout?: Pick<ModelOptions, 'dropout' | 'inputDropout'>;
  dustbinInit?: DustbinInit;
}

export interface SpecialistJobResult {
  index: number;
  group: number[];
  onnx: Uint8Array;
  seed: number;
  epochs: number;
  groupFraction: number;
  oversamplingFactor: number;
  dustbinBias: number;
  seconds: number;
  history: { epoch: number; loss: number; trainAccuracy: number; testErrors?: number; testTotal?: number; seconds: number }[];
}

/** One bar per specialist over all its epochs, and a log line per epoch. */
export function specialistProgress(progress: ProgressSink, index: number, group: readonly number[], epochs: number): (e: TrainEvent) => void {
  const id = `specialist-${index}`;
  const label = `specialist-${index} {${group.join(',')}}`;
  let total = 0;
  let last = 0;
  return (e) => {
    if (e.type === 'step') {
      if (total === 0) {
        total = e.stepsPerEpoch * epochs;
        progress({ kind: 'start', id, label, total });
      }
      const v = (e.epoch - 1) * e.stepsPerEpoch + e.step;
      const now = Date.now();
      if (v >= total || now - last >= 100) {
        last = now;
        progress({ kind: 'tick', id, value: v, info: `epoch ${e.epoch}/${epochs} loss ${e.loss.toFixed(4)}` });
      }
    } else {
      const t = e.test ? `, folded test errors ${e.test.errors}/${e.test.total}` : '';
      progress({
        kind: 'log',
        text: `${label} epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}, train acc ${(100 * e.trainAccuracy).toFixed(2)}%${t} — ${e.seconds.toFixed(1)} s`,
      });
      if (e.epoch === e.epochs && total > 0) {
        progress({ kind: 'tick', id, value: total });
        progress({ kind: 'stop', id });
      }
    }
  };
}

/** The job run in a worker (also callable in-thread): train one specialist, return its .onnx bytes. */
export async function specialistJob(a: SpecialistJobArgs, progress: ProgressSink): Promise<SpecialistJobResult> {
  let generalist = Network.fromOnnx(a.generalist, 'generalist');
  if (a.dropout && (a.dropout.dropout !== undefined || a.dropout.inputDropout !== undefined)) {
    const spec = { ...generalist.spec, options: { ...generalist.spec.options } };
    if (a.dropout.dropout !== undefined) spec.options.dropout = a.dropout.dropout;
    if (a.dropout.inputDropout !== undefined) spec.options.inputDropout = a.dropout.inputDropout;
    const names = generalist.classNames;
    generalist = new Network(spec, generalist.params, generalist.buffers);
    generalist.classNames = names;
  }
  const r = await trainSpecialist({
    generalist,
    group: a.group,
    train: a.train,
    generalistLogits: a.generalistLogits,
    config: a.config,
    groupShare: a.groupShare,
    test: a.test,
    dustbinInit: a.dustbinInit,
    runtime: { threads: a.threads },
    onEvent: specialistProgress(progress, a.index, a.group, a.config.epochs),
  });
  return {
    index: a.index,
    group: r.map.group,
    onnx: r.network.toOnnx(),
    seed: a.config.seed,
    epochs: a.config.epochs,
    groupFraction: r.groupFraction,
    oversamplingFactor: r.oversamplingFactor,
    dustbinBias: r.dustbinBias,
    seconds: r.seconds,
    history: r.history.map((h) => ({ epoch: h.epoch, loss: h.loss, trainAccuracy: h.trainAccuracy, testErrors: h.test?.errors, testTotal: h.test?.total, seconds: h.seconds })),
  };
}

/** A copy of `a` in a SharedArrayBuffer (workers then share it instead of receiving copies). */
export function shared<T extends Float32Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

function sharedDataset(ds: Dataset): Dataset {
  return { x: shared(ds.x), y: shared(ds.y), n: ds.n, shape: [...ds.shape], classes: ds.classes, source: ds.source };
}

export interface TrainSpecialistsOptions {
  /** The generalist as .onnx bytes. */
  generalist: Uint8Array;
  groups: readonly (readonly number[])[];
  train: Dataset;
  /** The generalist's logits on `train` (n×C). */
  generalistLogits: Float32Array;
  /** Optional: the folded test task is evaluated after each epoch (for the progress log only). */
  test?: Dataset;
  /** Training configuration; `seed` is the run's seed, each specialist's is derived from it and its group. */
  config: TrainConfig;
  groupShare?: number;
  /** Concurrent workers; default = cores; 0 = train in this thread, one after another. */
  workers?: number;
  /** Total intra-op thread budget shared by the workers; default = cores. */
  threads?: number;
  dropout?: Pick<ModelOptions, 'dropout' | 'inputDropout'>;
  dustbinInit?: DustbinInit;
  progress?: ProgressSink;
  /**
   * Train the specialists as jobs on this Redis queue instead (src/queue/specialist-jobs.ts),
   * run by `dk worker` processes anywhere; the same bytes as here: each job runs with the threads
   * a specialist gets here (max(1, ⌊threads / workers⌋)), whatever the worker's own setting.
   * `test` is not sent (it only feeds the progress log).
   */
  redis?: string;
  /** With `redis`: keep finished specialists in this directory, so a rerun does not train them again (src/queue/kept.ts). */
  keepDir?: string | null;
  /** With `redis`: stop waiting when this aborts (the caller's other work failed); the jobs not yet run are taken off the queue. */
  signal?: AbortSignal;
  /** With `redis`: how to continue after losing Redis, for the message (default, with kept specialists only: rerun the same command). */
  rerun?: string;
}

/** The training configuration of the i-th specialist: the run's, with the seed derived from its group. */
export function specialistConfig(config: TrainConfig, group: readonly number[]): TrainConfig {
  return { ...config, seed: specialistSeed(config.seed, group) };
}

export const JOB_REGISTRY = new URL('./jobs.js', import.meta.url);

/**
 * Train one specialist per group, concurrently in up to `workers` worker threads. Results come
 * back in the order of `groups`. If one fails, the others still running are cancelled (their
 * workers terminated through an AbortSignal), none is started, a one-line log names the
 * failure, and the first error is thrown.
 */
export async function trainSpecialists(o: TrainSpecialistsOptions): Promise<SpecialistJobResult[]> {
  const cores = availableParallelism();
  const workers = o.workers ?? cores;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`trainSpecialists: workers must be an integer >= 0, got ${workers}`);
  const budget = o.threads ?? cores;
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`trainSpecialists: threads must be an integer >= 1, got ${budget}`);
  const progress = o.progress ?? silent;
  const inThread = workers === 0;
  const threads = inThread ? budget : threadsPerWorker(budget, Math.min(workers, o.groups.length));
  // On the queue each specialist gets the threads it would get here: onnxruntime's results can
  // depend on the thread count, and the queue's must be a local run's bytes.
  if (o.redis !== undefined) return (await import('../queue/specialist-jobs.js')).remoteTrainSpecialists(o.redis, o, threads);
  const train = inThread ? o.train : sharedDataset(o.train);
  const test = o.test ? (inThread ? o.test : sharedDataset(o.test)) : undefined;
  const logits = inThread ? o.generalistLogits : shared(o.generalistLogits);
  const argsOf = (i: number): SpecialistJobArgs => ({
    index: i,
    generalist: o.generalist,
    group: [...o.groups[i]],
    train,
    generalistLogits: logits,
    test,
    config: specialistConfig(o.config, o.groups[i]),
    groupShare: o.groupShare ?? 0.5,
    threads,
    dropout: o.dropout,
    dustbinInit: o.dustbinInit,
  });
  const results: SpecialistJobResult[] = new Array(o.groups.length);
  if (inThread) {
    for (let i = 0; i < o.groups.length; i++) results[i] = await specialistJob(argsOf(i), progress);
    return results;
  }
  progress({ kind: 'log', text: `training ${o.groups.length} specialist(s) in ${Math.min(workers, o.groups.length)} worker(s), ${threads} onnxruntime thread(s) each` });
  let next = 0;
  let failure: unknown = null;
  const abort = new AbortController();
  const lane = async (): Promise<void> => {
    while (failure === null && next < o.groups.length) {
      const i = next++;
      try {
        results[i] = (await runInWorker(JOB_REGISTRY, 'specialist', argsOf(i), progress, abort.signal)) as SpecialistJobResult;
      } catch (e) {
        if (failure === null) {
          failure = e;
          const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
          progress({ kind: 'log', text: `specialist-${i} {${o.groups[i].join(',')}} failed (${msg}); cancelling the others` });
          abort.abort(`cancelled: specialist-${i} {${o.groups[i].join(',')}} failed`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, o.groups.length) }, lane));
  if (failure !== null) throw failure;
  return results;
}
