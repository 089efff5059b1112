/**
 * What every experiment of the paper job shares: the profile, the data, the training-config
 * defaults, and `fit` — one training run, loaded from the resume cache when an interrupted job
 * already trained it, retried at half the lr after a divergence — plus the phase timer and the
 * notes that end up in results.json.
 */
import { loadData } from '../data/load.js';
import type { Dataset } from '../data/dataset.js';
import { stratifiedFraction, subset } from '../data/subset.js';
import { holdoutSplit } from '../distill/bias.js';
import { autoWarmupSteps } from '../optim/schedule.js';
import { type EvalSummary, argmaxRows, networkLogits } from '../train/evaluate.js';
import { Network } from '../train/network.js';
import { type EpochEvent, type TrainConfig, DEFAULT_TRAIN } from '../train/trainer.js';
import type { EpochPoint, ModelRun } from '../report/schema.js';
import { Rng } from '../util/rng.js';
import type { ProgressSink } from '../util/progress.js';
import { wrongMask } from '../util/stats.js';
import type { PaperProfile } from './profiles.js';
import { CACHE_DIR, FitCache } from './cache.js';
import { type FitOutcome, type FitRun, trainFit } from './fit.js';
import type { FitQueue } from '../queue/fit-jobs.js';

export interface PaperData {
  train: Dataset;
  test: Dataset;
  /** Classes. */
  C: number;
  /** Training examples the bias/early-stopping choices never see. */
  transfer: Dataset;
  /** The stratified held-out split of the training set those choices use. */
  heldOut: Dataset;
}

/** MNIST, limited to the profile's `trainLimit`, with its held-out split. */
export function paperData(P: PaperProfile): PaperData {
  const split = loadData('mnist');
  let train = split.train;
  if (P.trainLimit) {
    // A smaller training set in its own right: row i is example i, as the teacher outputs
    // (computed on `train`, looked up by example id) expect.
    const { ids: _parentIds, ...limited } = subset(train, stratifiedFraction(train, P.trainLimit / train.n, new Rng(P.seed)));
    train = limited;
  }
  const hold = holdoutSplit(train, P.holdout, P.seed);
  return { train, test: split.test, C: train.classes, transfer: hold.train, heldOut: hold.holdout };
}

export interface Fitted {
  net: Network;
  /** The lr it trained at: the planned one, or half of it after a divergence. */
  lr: number;
  history: EpochEvent[];
  seconds: number;
  test: EvalSummary;
}

export interface FitExtra {
  options?: Network['spec']['options'];
  /** Teacher log-probabilities by example id (distillation); none: hard labels. */
  teacher?: Float32Array;
  /** Or the teacher run on every batch as the student sees it (jittered): the online teacher's network and what names it. */
  online?: { net: Network; identity: string };
  evalSets?: Dataset[];
  /** Warm up as dk distill does by default (true unless false). */
  warmup?: boolean;
}

/** The report's name for a network's architecture: `784-1200-1200-10 ReLU` for an MLP, its spec otherwise. */
export const archOf = (net: Network): string => {
  const hidden = net.spec.spec.startsWith('mlp:') ? net.spec.spec.slice(4).split(',') : [];
  return net.spec.spec.startsWith('mlp:') ? `${[net.spec.inputShape[0], ...hidden, net.spec.classes].join('-')} ReLU` : net.spec.spec;
};

const curveOf = (h: EpochEvent[]): EpochPoint[] => h.map((e) => ({ epoch: e.epoch, testErrors: e.test?.errors ?? -1, trainLoss: e.loss }));

/** A fitted network as results.json's ModelRun. */
/** Test errors by true class from a wrong-mask over the test set (labels in [0, C)). */
export function errorsByClass(wrong: Uint8Array, labels: Int32Array, C: number): number[] {
  if (wrong.length !== labels.length) throw new RangeError(`errorsByClass: ${wrong.length} flags for ${labels.length} labels`);
  const out = new Array<number>(C).fill(0);
  for (let i = 0; i < wrong.length; i++) if (wrong[i]) out[labels[i]]++;
  return out;
}

export const modelRun = (f: Fitted, description?: string, testErrorsByClass?: number[]): ModelRun => ({
  arch: archOf(f.net),
  description,
  params: f.net.parameterCount,
  testErrors: f.test.errors,
  testAccuracy: f.test.accuracy,
  epochs: f.history.length,
  lr: f.lr,
  curve: curveOf(f.history),
  wallSeconds: f.seconds,
  testErrorsByClass,
});

/**
 * The training runs on a Redis queue (`dk paper --redis URL`): the dispatcher that sends them as
 * 'paper-fit' jobs (src/queue/fit-jobs.ts, loaded only then), and the signal that stops every
 * run still in flight once one has failed.
 */
interface QueueLink {
  url: string;
  abort: AbortController;
  fits?: Promise<FitQueue>;
}

/** What a session and its forks share: the cache and the queue. */
interface Shared {
  cache: FitCache;
  queue: QueueLink | null;
}

export class PaperSession {
  readonly log: (text: string) => void;
  /** Shown in the report: what went differently from the plan (e.g. a student retrained at a lower lr). */
  readonly notes: string[] = [];
  readonly phases: { name: string; seconds: number }[] = [];
  /** Training runs loaded from the cache, and the seconds they took when they were trained. */
  readonly loaded = { runs: 0, seconds: 0, inPhase: 0 };
  readonly rt: { threads?: number };
  private readonly shared: Shared;

  /** `redis`: train the runs as jobs on this queue (dk worker processes run them); `all` then runs its tasks at once. */
  constructor(
    readonly P: PaperProfile,
    readonly data: PaperData,
    opts: { out: string; resume: boolean; threads?: number; redis?: string } | { fork: PaperSession },
    readonly progress: ProgressSink,
  ) {
    this.log = (text) => progress({ kind: 'log', text });
    if ('fork' in opts) {
      this.rt = opts.fork.rt;
      this.shared = opts.fork.shared;
      return;
    }
    this.rt = { threads: opts.threads };
    this.shared = { cache: new FitCache(opts.out, opts.resume), queue: opts.redis === undefined ? null : { url: opts.redis, abort: new AbortController() } };
    if (!this.shared.cache.resume) this.shared.cache.clear();
  }

  /** The resume cache's directory. */
  get cacheDir(): string {
    return this.shared.cache.dir;
  }

  /** With a queue: what the specialists experiment needs to send its jobs there too. */
  get queue(): { url: string; signal: AbortSignal } | null {
    const q = this.shared.queue;
    return q ? { url: q.url, signal: q.abort.signal } : null;
  }

  /**
   * Independent parts of the job (each task on a session of its own). Locally they run one after
   * another on this session, in the order given: that order is the order of the training runs.
   * With a queue they run at once, each on a fork with its own notes, phases and loaded-run
   * counts, appended to this session's in the order given once all are done — so results.json
   * reads as a local run's. A task that needs another's result awaits it (a promise the earlier
   * task set: tasks start in order). The first failure stops the runs still in flight; it is
   * thrown once every task has settled.
   */
  async all<T extends readonly unknown[]>(tasks: { [K in keyof T]: (s: PaperSession) => Promise<T[K]> }): Promise<T> {
    const q = this.shared.queue;
    const out: unknown[] = [];
    if (!q) {
      for (const t of tasks) out.push(await t(this));
      return out as unknown as T;
    }
    const forks = tasks.map(() => new PaperSession(this.P, this.data, { fork: this }, this.progress));
    let first: { e: unknown } | null = null;
    const settled = await Promise.allSettled(
      tasks.map((t, i) =>
        t(forks[i]).catch((e: unknown) => {
          first ??= { e };
          q.abort.abort(e);
          throw e;
        }),
      ),
    );
    if (first) throw (first as { e: unknown }).e;
    for (const f of forks) {
      this.notes.push(...f.notes);
      this.phases.push(...f.phases);
      this.loaded.runs += f.loaded.runs;
      this.loaded.seconds += f.loaded.seconds;
      this.loaded.inPhase += f.loaded.inPhase;
    }
    for (const r of settled) out.push((r as PromiseFulfilledResult<unknown>).value);
    return out as unknown as T;
  }

  /** The profile's training config for `epochs` epochs, with `over` on top. */
  baseCfg(epochs: number, over: Partial<TrainConfig> = {}): TrainConfig {
    const P = this.P;
    return { ...DEFAULT_TRAIN, epochs, batch: P.batch, lr: P.lr, seed: P.seed, temperature: P.temperature, alpha: P.alpha, ...over };
  }

  /** One phase of the job, logged and timed; its time includes the original training time of the runs it loaded from the cache. */
  async timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const s = performance.now();
    this.loaded.inPhase = 0;
    this.log(`— ${name} —`);
    const r = await fn();
    this.phases.push({ name, seconds: (performance.now() - s) / 1000 + this.loaded.inPhase });
    return r;
  }

  /**
   * One training run (its cache key: label, spec, config, options, data, eval sets and teacher):
   * loaded from the resume cache, or trained here, or with a queue sent there as a job; each
   * finished run is saved in the cache as it arrives.
   */
  async fit(label: string, spec: string, data: Dataset, cfg: TrainConfig, extra: FitExtra = {}): Promise<Fitted> {
    const { test, C } = this.data;
    const cache = this.shared.cache;
    if (extra.warmup ?? true) {
      // Students warm up as dk distill does by default (AUTO_WARMUP, src/optim/schedule.ts: why).
      cfg = { ...cfg, schedule: { ...cfg.schedule, warmupSteps: autoWarmupSteps(data.n, cfg.batch, cfg.epochs) } };
    }
    const key = cache.key({ label, spec, config: cfg, options: extra.options ?? {}, data, test, evalSets: extra.evalSets, teacher: extra.teacher, online: extra.online?.identity });
    const hit = cache.load(key);
    if (hit) {
      this.log(`${label}: loaded from ${CACHE_DIR} (trained by an earlier run of this job)`);
      this.notes.push(...hit.run.notes);
      this.loaded.runs++;
      this.loaded.seconds += hit.run.seconds;
      this.loaded.inPhase += hit.run.seconds;
      const h = hit.run.history;
      return { net: hit.net, lr: hit.run.lr, history: h, seconds: hit.run.seconds, test: h[h.length - 1].test! };
    }
    const run: FitRun = { label, spec, classes: C, options: extra.options ?? {}, cfg, data, test, evalSets: extra.evalSets, teacher: extra.teacher, online: extra.online, runtime: this.rt };
    const q = this.shared.queue;
    let r: FitOutcome;
    if (q) {
      q.fits ??= import('../queue/fit-jobs.js').then((m) => new m.FitQueue(q.url, this.progress, q.abort.signal, cache.dir));
      const got = await (await q.fits).fit(run);
      for (const n of got.notes) this.log(n);
      cache.save(key, got.onnx, got);
      r = { ...got, net: Network.fromOnnx(got.onnx, label) };
    } else {
      r = await trainFit(run, this.progress);
      cache.save(key, r.net, r);
    }
    this.notes.push(...r.notes);
    const last = r.history[r.history.length - 1];
    return { net: r.net, lr: r.lr, history: r.history, seconds: r.seconds, test: last.test! };
  }

  /** A network's logits on `data`. */
  logits(net: Network, data: Dataset): Promise<Float32Array> {
    return networkLogits(net, data, this.rt);
  }

  /** Which test examples these test-set logits get wrong (for the paired comparisons). */
  wrongOf(logits: Float32Array): Uint8Array {
    const { test, C } = this.data;
    return wrongMask(argmaxRows(logits, test.n, C), test.y);
  }

  /** Which test examples `net` gets wrong. */
  async testWrong(net: Network): Promise<Uint8Array> {
    return this.wrongOf(await this.logits(net, this.data.test));
  }

  /** Drops the resume cache: the job finished. */
  clearCache(): void {
    this.shared.cache.clear();
  }
}
