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
import { modelInputShape } from '../nn/spec.js';
import { autoWarmupSteps } from '../optim/schedule.js';
import { type EvalSummary, argmaxRows, networkLogits } from '../train/evaluate.js';
import { Network } from '../train/network.js';
import { trainingProgress } from '../train/progress.js';
import { type EpochEvent, type TrainConfig, DEFAULT_TRAIN, trainNetwork } from '../train/trainer.js';
import type { EpochPoint, ModelRun } from '../report/schema.js';
import { Rng } from '../util/rng.js';
import type { OnlineTeacher } from '../train/batches.js';
import type { ProgressSink } from '../util/progress.js';
import { wrongMask } from '../util/stats.js';
import type { PaperProfile } from './profiles.js';
import { halveLrOnDivergence } from './helpers.js';
import { CACHE_DIR, FitCache } from './cache.js';

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
  /** Or the teacher run on every batch as the student sees it (jittered): the online teacher. */
  online?: OnlineTeacher;
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

export class PaperSession {
  readonly log: (text: string) => void;
  /** Shown in the report: what went differently from the plan (e.g. a student retrained at a lower lr). */
  readonly notes: string[] = [];
  readonly phases: { name: string; seconds: number }[] = [];
  /** Training runs loaded from the cache, and the seconds they took when they were trained. */
  readonly loaded = { runs: 0, seconds: 0, inPhase: 0 };
  readonly rt: { threads?: number };
  private readonly cache: FitCache;

  constructor(
    readonly P: PaperProfile,
    readonly data: PaperData,
    opts: { out: string; resume: boolean; threads?: number },
    readonly progress: ProgressSink,
  ) {
    this.log = (text) => progress({ kind: 'log', text });
    this.rt = { threads: opts.threads };
    this.cache = new FitCache(opts.out, opts.resume);
    if (!this.cache.resume) this.cache.clear();
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

  /** One training run (its cache key: label, spec, config, options, data, eval sets and teacher). */
  async fit(label: string, spec: string, data: Dataset, cfg: TrainConfig, extra: FitExtra = {}): Promise<Fitted> {
    const { test, C } = this.data;
    if (extra.warmup ?? true) {
      // Students warm up as dk distill does by default (AUTO_WARMUP, src/optim/schedule.ts: why).
      cfg = { ...cfg, schedule: { ...cfg.schedule, warmupSteps: autoWarmupSteps(data.n, cfg.batch, cfg.epochs) } };
    }
    const key = this.cache.key({ label, spec, config: cfg, options: extra.options ?? {}, data, test, evalSets: extra.evalSets, teacher: extra.teacher, online: extra.online?.identity });
    const hit = this.cache.load(key);
    if (hit) {
      this.log(`${label}: loaded from ${CACHE_DIR} (trained by an earlier run of this job)`);
      this.notes.push(...hit.run.notes);
      this.loaded.runs++;
      this.loaded.seconds += hit.run.seconds;
      this.loaded.inPhase += hit.run.seconds;
      const h = hit.run.history;
      return { net: hit.net, lr: hit.run.lr, history: h, seconds: hit.run.seconds, test: h[h.length - 1].test! };
    }
    const runNotes: string[] = [];
    const trained = await halveLrOnDivergence(
      cfg.lr,
      async (lr) => {
        const net = Network.create({ spec, inputShape: modelInputShape(spec, data.shape), classes: C, options: extra.options ?? {} }, cfg.seed);
        const res = await trainNetwork(net, data, { ...cfg, lr }, {
          test,
          evalSets: extra.evalSets,
          teacher: extra.teacher ? { logits: extra.teacher, classes: C } : undefined,
          onlineTeacher: extra.online,
          runtime: this.rt,
          onEvent: trainingProgress(this.progress, label, cfg.epochs),
        });
        return { net, res, lr };
      },
      (e, lr) => {
        const text = `${label}: ${e.plain}; trained again from scratch at half that rate (${lr})`;
        this.log(text);
        this.notes.push(text);
        runNotes.push(text);
      },
    );
    const { net, res, lr } = trained;
    this.cache.save(key, net, { lr, history: res.history, seconds: res.seconds, notes: runNotes });
    const last = res.history[res.history.length - 1];
    return { net, lr, history: res.history, seconds: res.seconds, test: last.test! };
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
    this.cache.clear();
  }
}
