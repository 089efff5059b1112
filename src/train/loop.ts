/**
 * The training loop, backend- and platform-neutral (no Node API: the browser's "Distil here"
 * worker runs it too; src/train/trainer.ts is the Node entry, which adds checkpoint files and
 * log lines on stderr). Its parts, one concern each:
 *   batches.ts           which rows each step takes (seeded), assembled into preallocated feeds;
 *   step-groups.ts       one step per graph run, or K steps per run through the unrolled graph
 *                        (or, passed in by trainer.ts, replicas.ts: each step data-parallel on
 *                        shards of the batch in worker threads);
 *   checkpoint-session.ts  checkpoint identity and files, when checkpoints fall due (Node only:
 *                        passed in by trainer.ts; where a resumed run stands is resumePoint here);
 *   guard.ts             non-finite / exploding losses and weights (DivergenceError);
 *   evaluate.ts          per-epoch evaluation on the live state.
 * Every random draw comes from a seeded stream, so the same seed gives bitwise the same weights,
 * whether the run was interrupted and resumed or not.
 */
import type { TensorData } from '../graph/ir.js';
import { type Dataset, exampleIds, featureSize } from '../data/dataset.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { alternating } from '../runtime/core.js';
import type { RngState } from '../util/rng.js';
import { type EvalSummary, LiveEvaluator } from './evaluate.js';
import type { Network } from './network.js';
import { buildStepGraph, syncNetwork } from './step.js';
import { type BatchSampler, type LoopRngs, type OnlineTeacher, type TeacherTargets, BatchFeeder, loopRngs, shuffledBatches } from './batches.js';
import type { CheckpointSession, openCheckpoints } from './checkpoint-session.js';
import type { CheckpointProgress } from './checkpoint.js';
import { DivergenceGuard } from './guard.js';
import { DEFAULT_STEPS_PER_RUN, StepGroups, type TrainSteps } from './step-groups.js';

// The configuration (types, defaults, validation) lives in a module of its own so the CLI can
// read defaults and check flags without loading the engine.
export { type MixKind, type TrainConfig, type CheckpointConfig, DEFAULT_TRAIN, validateTrainConfig } from './config.js';
import { type TrainConfig, validateTrainConfig } from './config.js';
export { type BatchSampler, type OnlineTeacher, type TeacherTargets, fillDropoutMask, shuffledBatches } from './batches.js';
export { DEFAULT_EXPLODE_FACTOR, firstNonFinite } from './guard.js';
export { DEFAULT_STEPS_PER_RUN } from './step-groups.js';

export interface EpochEvent {
  type: 'epoch';
  epoch: number;
  epochs: number;
  loss: number;
  trainAccuracy: number;
  test?: EvalSummary;
  /** Summaries on `evalSets`, in order (e.g. a held-out split for early stopping). */
  evals?: EvalSummary[];
  seconds: number;
  samplesPerSec: number;
  lr: number;
}
export interface StepEvent {
  type: 'step';
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
}
export type TrainEvent = EpochEvent | StepEvent;

export interface TrainOptions {
  test?: Dataset;
  /** More datasets evaluated after each epoch (reported in EpochEvent.evals). */
  evalSets?: Dataset[];
  /** Called after each epoch with the live parameters (e.g. to keep the best epoch's weights). */
  onEpochEnd?: (epoch: number, params: ReadonlyMap<string, TensorData>) => void;
  teacher?: TeacherTargets;
  /** A teacher run on each (augmented) batch as the student sees it, instead of `teacher`'s rows. */
  onlineTeacher?: OnlineTeacher;
  /** Use labels (false: unlabelled transfer set, soft loss only). */
  labeled?: boolean;
  runtime?: RuntimeOptions;
  onEvent?: (e: TrainEvent) => void;
  /** Emit a step event every k steps (default 20). */
  stepEvery?: number;
  /**
   * Custom batching (e.g. specialists' enriched batches): row-index batches for each epoch,
   * drawn from the given seeded stream. Default: a shuffled pass over all rows.
   */
  sampler?: BatchSampler;
  /** Messages about checkpoints and resuming (trainNetwork's default: stderr; runTraining's: dropped). */
  onLog?: (text: string) => void;
  /**
   * Training steps per graph run (src/train/unroll.ts; default DEFAULT_STEPS_PER_RUN, 1 = one
   * run per step). Only speed changes: the weights are bitwise the same.
   */
  stepsPerRun?: number;
  /**
   * Stop with a DivergenceError when a step's loss exceeds this many times the first step's loss of
   * the run (floored at 1): a loss that explodes but stays finite (1e10) leaves dead ReLUs behind
   * and is not caught by the non-finite check. Default DEFAULT_EXPLODE_FACTOR; 0 turns it off.
   */
  explodeFactor?: number;
  /**
   * Asked after every step group (1 or stepsPerRun steps); true ends the run there, mid-epoch or
   * not, with the weights as they stand (no epoch event for a part-done epoch; result.stopped).
   * It may return a promise (the browser worker yields to its message queue there).
   */
  shouldStop?: () => boolean | Promise<boolean>;
}

export interface TrainResult {
  history: EpochEvent[];
  seconds: number;
  /** Step-graph runs (fewer than steps where several steps ran per run). */
  graphRuns: number;
  /** Training steps run (in this call, after any resume point). */
  steps: number;
  /** True when `shouldStop` ended the run before its last epoch's end. */
  stopped: boolean;
}

/**
 * Opens a training's checkpoints (src/train/checkpoint-session.ts openCheckpoints, which reads
 * and writes files: the Node trainer passes it in).
 */
export type CheckpointOpener = typeof openCheckpoints;

/**
 * Data-parallel training steps where they apply (src/train/replicas.ts replicatedSteps, given by
 * the Node trainer; null: the one-session steps). Passed in: worker threads are Node's.
 */
export type ReplicatedStepsFactory = (net: Network, lossKind: TrainConfig['loss'], optim: TrainConfig['optim'], batch: number, runtime: RuntimeOptions | undefined, log: (text: string) => void) => Promise<TrainSteps | null>;

/**
 * Train `net` in place (its parameters are the trained ones afterwards). Checkpoints
 * (`cfg.checkpoint`) need `openCheckpoints` (the Node trainer, src/train/trainer.ts, gives it).
 */
export async function runTraining(
  net: Network,
  data: Dataset,
  cfg: TrainConfig,
  opts: TrainOptions = {},
  openCheckpoints?: CheckpointOpener,
  replicated?: ReplicatedStepsFactory,
): Promise<TrainResult> {
  validateTrainConfig(cfg);
  const labeled = opts.labeled ?? true;
  checkTrainingInputs(net, data, cfg, opts.teacher, labeled, opts.onlineTeacher);
  if (cfg.checkpoint && !openCheckpoints) throw new RangeError('checkpoint: checkpoints are files; train with trainNetwork (src/train/trainer.ts, Node) to write them');
  const sg = buildStepGraph(net, cfg.loss, cfg.optim);
  const sampler = opts.sampler ?? shuffledBatches(data.n, Math.min(cfg.batch, data.n));
  const log = opts.onLog ?? (() => {});
  // Checkpoints: named and (when resuming) loaded and checked before any session is created.
  const ck = cfg.checkpoint && openCheckpoints ? openCheckpoints(net, data, cfg, opts.onlineTeacher ? `online:${opts.onlineTeacher.identity}` : opts.teacher, labeled, sg.initialState, sampler, !!opts.sampler, log) : null;
  const batch = Math.min(cfg.batch, data.n);
  // An online teacher's sessions and the step take turns every batch: neither spins (alternating).
  const runtime = opts.onlineTeacher ? alternating(opts.runtime) : opts.runtime;
  const steps: TrainSteps =
    (replicated ? await replicated(net, cfg.loss, cfg.optim, batch, runtime, log) : null) ??
    (await StepGroups.create(sg, opts.stepsPerRun ?? DEFAULT_STEPS_PER_RUN, sampler.stepsPerEpoch, runtime));
  let evaluator: LiveEvaluator | null = null;
  try {
    evaluator = opts.test || opts.evalSets?.length ? await LiveEvaluator.create(net, opts.runtime) : null;
    const rngs = loopRngs(cfg.seed);
    const feeder = new BatchFeeder(net, data, cfg, sg.masks, opts.teacher, labeled, rngs, steps.k, sampler.stepsPerEpoch, opts.onlineTeacher);
    return await trainLoop(net, cfg, opts, { sampler, feeder, steps, rngs, ck, evaluator, log });
  } finally {
    await steps.release();
    if (evaluator) await evaluator.release();
  }
}

/** The data, teacher and loss must fit the model and each other (RangeError naming both sides). */
function checkTrainingInputs(net: Network, data: Dataset, cfg: TrainConfig, teacher: TeacherTargets | undefined, labeled: boolean, online: OnlineTeacher | undefined): void {
  const D = featureSize(data);
  const inD = net.spec.inputShape.reduce((a, b) => a * b, 1);
  if (D !== inD) throw new RangeError(`data has examples of shape [${data.shape}] (${D} values) but the model takes [${net.spec.inputShape}] (${inD})`);
  const C = net.spec.classes;
  if (data.classes > C) throw new RangeError(`data has ${data.classes} classes but the model outputs ${C}`);
  if (teacher && online) throw new RangeError('give teacher outputs or an online teacher, not both');
  if (online && online.classes !== C) throw new RangeError(`teacher has ${online.classes} classes but the student outputs ${C}`);
  if (cfg.loss !== 'hard' && !teacher && !online) throw new RangeError(`loss '${cfg.loss}' needs teacher outputs`);
  if (cfg.loss === 'hard' && !labeled) throw new RangeError('an unlabelled transfer set needs a soft loss and a teacher');
  if (teacher && teacher.classes !== C) throw new RangeError(`teacher has ${teacher.classes} classes but the student outputs ${C}`);
  if (teacher) {
    // Teacher rows are looked up by example id (a subset keeps its parent's ids).
    const rows = Math.floor(teacher.logits.length / C);
    let maxId = -1;
    for (const id of exampleIds(data)) if (id > maxId) maxId = id;
    if (teacher.logits.length % C !== 0 || maxId >= rows) {
      throw new RangeError(`teacher outputs hold ${teacher.logits.length / C} rows of ${C} classes, but the data has example id ${maxId}: expected one row per example id of the full dataset`);
    }
  }
  if (cfg.jitter > 0 && data.shape.length < 2) throw new RangeError(`jitter needs image-shaped data ([C,H,W]); this data's examples have shape [${data.shape}]`);
}

/** Where the loop starts: the first epoch, the global step, and the progress inside a part-done epoch. */
export interface StartPoint {
  epoch: number;
  globalStep: number;
  /** Progress within `epoch` when the checkpoint was taken mid-epoch (null: at an epoch boundary). */
  inEpoch: CheckpointProgress | null;
  history: unknown[];
}

/**
 * Where a run resumed from `ck` stands: the streams are set back to the checkpoint's states (the
 * shuffle stream to its epoch's start, which regenerates the epoch's batch order), and a log
 * line says where it continues. Returns null for a fresh run.
 */
export function resumePoint(ck: CheckpointSession | null, rngs: LoopRngs, epochs: number, stepsPerEpoch: number, log: (text: string) => void): StartPoint | null {
  const resumed = ck?.resumed;
  if (!resumed) return null;
  const p = resumed.header.progress;
  rngs.shuffle.state = p.epochStartShuffle;
  rngs.dropout.state = p.rngs.dropout;
  rngs.jitter.state = p.rngs.jitter;
  log(
    p.epoch >= epochs
      ? `resuming from ${resumed.path}: this training already finished (${epochs} epochs); using its final weights`
      : `resuming from ${resumed.path}: epoch ${p.epoch + 1}/${epochs}, step ${p.stepInEpoch}/${stepsPerEpoch} (global step ${p.globalStep})`,
  );
  return { epoch: p.epoch, globalStep: p.globalStep, inEpoch: p.stepInEpoch > 0 ? p : null, history: resumed.header.history };
}

interface LoopParts {
  sampler: BatchSampler;
  feeder: BatchFeeder;
  steps: TrainSteps;
  rngs: LoopRngs;
  ck: CheckpointSession | null;
  evaluator: LiveEvaluator | null;
  log: (text: string) => void;
}

async function trainLoop(net: Network, cfg: TrainConfig, opts: TrainOptions, parts: LoopParts): Promise<TrainResult> {
  const { sampler, feeder, steps, rngs, ck, evaluator, log } = parts;
  const { stepsPerEpoch, rowsPerEpoch } = sampler;
  const labeled = opts.labeled ?? true;
  const t0 = performance.now();
  const start = resumePoint(ck, rngs, cfg.epochs, stepsPerEpoch, log);
  if (start) steps.setState(ck!.resumed!.state);
  const history = [...((start?.history ?? []) as EpochEvent[])];
  const guard = new DivergenceGuard(cfg, opts.explodeFactor, start?.globalStep ?? 0, () => ck?.lastSaved ?? null);
  let globalStep = start?.globalStep ?? 0;
  const firstStep = globalStep;
  let stopped = false;
  let stopAsked = false;
  for (let epoch = start?.epoch ?? 0; epoch < cfg.epochs && !stopped; epoch++) {
    const resumed = epoch === start?.epoch ? start.inEpoch : null;
    const t = new EpochTally(epoch, rngs, cfg.lr, resumed);
    const batches = new GroupedBatches(sampler, epoch, rngs, resumed, feeder.batch, steps.k);
    for (;;) {
      // A group of K only with K steps left in the epoch and no checkpoint due inside it.
      const fits = stepsPerEpoch - t.step >= steps.k && !ck?.dueInside(globalStep, steps.k);
      const group = batches.next(fits ? steps.k : 1);
      if (!group) break;
      const prepared = group.map((rows, j) => feeder.prepare(j, rows, globalStep + j));
      if (feeder.online) for (let j = 0; j < group.length; j++) await feeder.fillTeacher(j, group[j].length);
      const results = await steps.run(prepared);
      for (let j = 0; j < group.length; j++) {
        const { loss, correct } = results[j];
        t.lr = prepared[j].lr;
        guard.loss(loss, t.lr, { epoch: epoch + 1, step: t.step + 1, globalStep: globalStep + 1 });
        t.lossSum += loss * group[j].length;
        t.correct += correct;
        if (opts.onEvent && (t.step % (opts.stepEvery ?? 20) === 0 || t.step === stepsPerEpoch - 1)) {
          opts.onEvent({ type: 'step', epoch: epoch + 1, step: t.step + 1, stepsPerEpoch, loss });
        }
        t.step++;
        globalStep++;
        // Only after a group's last step: dueInside kept the others clear of checkpoints.
        if (ck?.dueAfter(globalStep) && t.step < stepsPerEpoch) {
          guard.weights(steps.state, globalStep, `checked before the checkpoint at epoch ${epoch + 1}, step ${t.step}`);
          ck.save(t.progress(globalStep), history, steps.state);
        }
      }
      if (opts.shouldStop && (await opts.shouldStop())) {
        stopAsked = true;
        if (t.step < stepsPerEpoch) {
          stopped = true;
          break;
        }
      }
    }
    if (stopped) break;
    const seconds = t.seconds();
    const test = opts.test ? await evaluator!.evaluate(opts.test, steps.state) : undefined;
    const evals: EvalSummary[] = [];
    for (const ds of opts.evalSets ?? []) evals.push(await evaluator!.evaluate(ds, steps.state));
    opts.onEpochEnd?.(epoch + 1, steps.state);
    const ev: EpochEvent = {
      type: 'epoch',
      epoch: epoch + 1,
      epochs: cfg.epochs,
      loss: t.lossSum / rowsPerEpoch,
      trainAccuracy: labeled ? t.correct / rowsPerEpoch : NaN,
      test,
      evals: opts.evalSets ? evals : undefined,
      seconds,
      samplesPerSec: rowsPerEpoch / seconds,
      lr: t.lr,
    };
    history.push(ev);
    opts.onEvent?.(ev);
    guard.weights(steps.state, globalStep, `checked at the end of epoch ${epoch + 1}`);
    ck?.save(t.nextEpoch(globalStep), history, steps.state);
    if (stopAsked && epoch + 1 < cfg.epochs) stopped = true;
  }
  if (stopped) guard.weights(steps.state, globalStep, 'checked when the run was stopped');
  syncNetwork(net, steps.state);
  guard.params(net.params);
  return { history, seconds: (performance.now() - t0) / 1000, graphRuns: steps.runs, steps: globalStep - firstStep, stopped };
}

/** One epoch's position and running sums; an epoch resumed mid-way starts from the checkpoint's. */
class EpochTally {
  step = 0;
  lossSum = 0;
  correct = 0;
  lr: number;
  /** Seconds spent in this epoch before a resume. */
  private priorSeconds = 0;
  private readonly t0 = performance.now();
  /** The shuffle stream's state when the epoch began (regenerates its batch order). */
  private readonly startShuffle: RngState;

  constructor(
    private readonly epoch: number,
    private readonly rngs: LoopRngs,
    lr: number,
    from: CheckpointProgress | null,
  ) {
    this.startShuffle = rngs.shuffle.state;
    this.lr = lr;
    if (from) {
      this.step = from.stepInEpoch;
      this.lossSum = from.lossSum;
      this.correct = from.correct;
      this.lr = from.lr;
      this.priorSeconds = from.epochSeconds;
    }
  }

  seconds(): number {
    return this.priorSeconds + (performance.now() - this.t0) / 1000;
  }

  /** Where the run stands now, for a checkpoint. */
  progress(globalStep: number): CheckpointProgress {
    const { rngs } = this;
    return {
      epoch: this.epoch,
      stepInEpoch: this.step,
      globalStep,
      epochStartShuffle: this.startShuffle,
      rngs: { shuffle: rngs.shuffle.state, dropout: rngs.dropout.state, jitter: rngs.jitter.state },
      lossSum: this.lossSum,
      correct: this.correct,
      lr: this.lr,
      epochSeconds: this.seconds(),
    };
  }

  /** The checkpoint at the end of this epoch: the start of the next. */
  nextEpoch(globalStep: number): CheckpointProgress {
    return { ...this.progress(globalStep), epoch: this.epoch + 1, stepInEpoch: 0, lossSum: 0, correct: 0, epochStartShuffle: this.rngs.shuffle.state, epochSeconds: 0 };
  }
}

/**
 * An epoch's batches, taken one or K at a time. Batches are pulled ahead only for a group (a
 * sampler may draw from its stream lazily, and checkpoints record the stream); a group of K
 * needs K full batches, otherwise they go one by one. An epoch resumed mid-way regenerates its
 * batch order from the shuffle state at its start and skips the batches already taken; the
 * stream then stands where the checkpoint left it.
 */
class GroupedBatches {
  private readonly it: Iterator<Int32Array>;
  private readonly pending: Int32Array[] = [];

  constructor(
    sampler: BatchSampler,
    epoch: number,
    rngs: LoopRngs,
    from: CheckpointProgress | null,
    private readonly batch: number,
    private readonly k: number,
  ) {
    this.it = sampler.epoch(epoch, rngs.shuffle)[Symbol.iterator]();
    if (!from) return;
    for (let s = 0; s < from.stepInEpoch; s++) {
      if (this.it.next().done) throw new RangeError(`checkpoint: epoch ${epoch + 1} has fewer than ${from.stepInEpoch} batches`);
    }
    if (rngs.shuffle.state.join() !== from.rngs.shuffle.join()) throw new RangeError('checkpoint: the batch sampler did not regenerate the same batch order (is it deterministic in its RNG?)');
  }

  /** The next group of `want` (1 or K) batches: K full ones, or else one; null at the epoch's end. */
  next(want: number): Int32Array[] | null {
    while (this.pending.length < want) {
      const r = this.it.next();
      if (r.done) break;
      this.pending.push(r.value);
    }
    if (!this.pending.length) return null;
    const n = want === this.k && this.pending.length === this.k && this.pending.every((r) => r.length === this.batch) ? this.k : 1;
    return this.pending.splice(0, n);
  }
}
