/**
 * The training loop: seeded shuffles, batches assembled into preallocated buffers (inputs,
 * jitter, labels, one-hot targets, teacher rows looked up by example id, dropout masks), one
 * step-graph run per group of 8 full batches (src/train/unroll.ts) or per single batch, per-epoch
 * evaluation and events. Every random draw comes from a seeded stream, so the same seed gives
 * bitwise the same weights.
 */
import { type TensorData, tensor } from '../graph/ir.js';
import { type Dataset, exampleIds, featureSize } from '../data/dataset.js';
import { datasetHash } from '../data/hash.js';
import { jitterBatch } from '../data/augment.js';
import { adamCorrection } from '../optim/optimizers.js';
import { learningRate } from '../optim/schedule.js';
import { type RuntimeOptions, Runner, StepRunner } from '../runtime/session.js';
import { DivergenceError, UsageError } from '../util/errors.js';
import { Rng, type RngState } from '../util/rng.js';
import { argmaxRows, forwardGraphWithParamInputs, predictAll, summarise, type EvalSummary } from './evaluate.js';
import type { Network } from './network.js';
import { buildStepGraph, syncNetwork } from './step.js';
import { type UnrolledStepGraph, stepName, unrollStepGraph } from './unroll.js';
import { type Checkpoint, type CheckpointProgress, type RunIdentity, checkpointName, listCheckpoints, loadForResume, saveCheckpoint, sha256Hex, stateHash } from './checkpoint.js';

// The configuration (types, defaults, validation) lives in a module of its own so the CLI can
// read defaults and check flags without loading the engine.
export { type MixKind, type TrainConfig, type CheckpointConfig, DEFAULT_TRAIN, validateTrainConfig } from './config.js';
import { type TrainConfig, type CheckpointConfig, validateTrainConfig } from './config.js';

/** Teacher outputs for the transfer set: n_all × C logits (or log-probabilities), indexed by example id. */
export interface TeacherTargets {
  logits: Float32Array;
  classes: number;
}

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
  /** Messages about checkpoints and resuming (default: written to stderr). */
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
}

/** A step's loss this many times the run's first (floored at 1) is an explosion, never a blip. */
export const DEFAULT_EXPLODE_FACTOR = 1e4;

/** Steps per graph run by default: the weights cross into JavaScript once per 8 steps. */
export const DEFAULT_STEPS_PER_RUN = 8;

export interface BatchSampler {
  stepsPerEpoch: number;
  /** Number of rows one epoch visits (for the epoch's mean loss and accuracy). */
  rowsPerEpoch: number;
  epoch(epoch: number, rng: Rng): Iterable<Int32Array>;
}

/** The default sampler: one shuffled pass over n rows in batches of B (the last may be smaller). */
export function shuffledBatches(n: number, B: number): BatchSampler {
  return {
    stepsPerEpoch: Math.ceil(n / B),
    rowsPerEpoch: n,
    *epoch(_e: number, rng: Rng) {
      const perm = rng.permutation(n);
      for (let s = 0; s < n; s += B) yield perm.subarray(s, Math.min(n, s + B));
    },
  };
}

export interface TrainResult {
  history: EpochEvent[];
  seconds: number;
  /** Step-graph runs (fewer than steps where several steps ran per run). */
  graphRuns: number;
}

/** The first non-finite value in a state map, or null (a cheap scan: plain loops over floats). */
export function firstNonFinite(state: ReadonlyMap<string, TensorData>): { name: string; index: number; value: number } | null {
  for (const [name, t] of state) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) return { name, index: i, value: v };
    }
  }
  return null;
}



/**
 * Inverted-dropout mask: each entry 1/(1−p) with probability 1−p, else 0. Two 16-bit uniforms
 * per 32-bit draw (p is quantised to 1/65536), drawn in bulk; ≈2.5× faster than a draw per pair (4.3 → 1.7 ms CPU for a teacher step's masks).
 */
let maskBits = new Uint32Array(0);
export function fillDropoutMask(buf: Float32Array, n: number, p: number, rng: Rng): void {
  const keep = 1 / (1 - p);
  const thr = Math.round(p * 65536);
  const words = (n + 1) >> 1;
  if (maskBits.length < words) maskBits = new Uint32Array(words);
  const r = rng.fillU32(maskBits, words);
  const pairs = n >> 1;
  // Branch-free (random keep/drop defeats branch prediction): (u − thr) >>> 31 is 1 when u < thr.
  for (let w = 0; w < pairs; w++) {
    const v = r[w];
    buf[2 * w] = keep * (1 - (((v & 0xffff) - thr) >>> 31));
    buf[2 * w + 1] = keep * (1 - (((v >>> 16) - thr) >>> 31));
  }
  if (n & 1) buf[n - 1] = (r[pairs] & 0xffff) >= thr ? keep : 0;
}

interface LoopRngs {
  shuffle: Rng;
  dropout: Rng;
  jitter: Rng;
}

export interface LoopState {
  epoch: number;
  step: number;
  rngs: { shuffle: RngState; dropout: RngState; jitter: RngState };
}

export async function trainNetwork(net: Network, data: Dataset, cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  validateTrainConfig(cfg);
  const D = featureSize(data);
  const inD = net.spec.inputShape.reduce((a, b) => a * b, 1);
  if (D !== inD) throw new RangeError(`data has examples of shape [${data.shape}] (${D} values) but the model takes [${net.spec.inputShape}] (${inD})`);
  const C = net.spec.classes;
  if (data.classes > C) throw new RangeError(`data has ${data.classes} classes but the model outputs ${C}`);
  const labeled = opts.labeled ?? true;
  if (cfg.loss !== 'hard' && !opts.teacher) throw new RangeError(`loss '${cfg.loss}' needs teacher outputs`);
  if (cfg.loss === 'hard' && !labeled) throw new RangeError('an unlabelled transfer set needs a soft loss and a teacher');
  if (opts.teacher && opts.teacher.classes !== C) throw new RangeError(`teacher has ${opts.teacher.classes} classes but the student outputs ${C}`);
  if (opts.teacher) {
    // Teacher rows are looked up by example id (a subset keeps its parent's ids).
    const rows = Math.floor(opts.teacher.logits.length / C);
    let maxId = -1;
    for (const id of exampleIds(data)) if (id > maxId) maxId = id;
    if (opts.teacher.logits.length % C !== 0 || maxId >= rows) {
      throw new RangeError(`teacher outputs hold ${opts.teacher.logits.length / C} rows of ${C} classes, but the data has example id ${maxId}: expected one row per example id of the full dataset`);
    }
  }
  if (cfg.jitter > 0 && data.shape.length < 2) throw new RangeError(`jitter needs image-shaped data ([C,H,W]); this data's examples have shape [${data.shape}]`);

  const sg = buildStepGraph(net, cfg.loss, cfg.optim);
  const sampler = opts.sampler ?? shuffledBatches(data.n, Math.min(cfg.batch, data.n));
  const log = opts.onLog ?? ((text: string) => process.stderr.write(`dk: ${text}\n`));
  // Checkpoints: named and (when resuming) loaded and checked before any session is created.
  const ck = cfg.checkpoint ? setupCheckpoints(net, data, cfg, opts, sg.initialState, sampler, log) : null;
  const spr = opts.stepsPerRun ?? DEFAULT_STEPS_PER_RUN;
  if (!Number.isInteger(spr) || spr < 1) throw new RangeError(`stepsPerRun must be an integer ≥ 1, got ${spr}`);
  // A K-step graph only where an epoch has room for two groups (otherwise one run per step).
  const K = sampler.stepsPerEpoch >= 2 * spr ? spr : 1;
  const runner = await Runner.create(sg.graph, opts.runtime);
  let evalRunner: Runner | null = null;
  let multi: { graph: UnrolledStepGraph; runner: Runner } | null = null;
  try {
    if (K > 1) {
      const graph = unrollStepGraph(sg, K);
      multi = { graph, runner: await Runner.create(graph.graph, opts.runtime) };
    }
    evalRunner = opts.test || opts.evalSets?.length ? await Runner.create(forwardGraphWithParamInputs(net), opts.runtime) : null;
    return await trainLoop(net, data, cfg, opts, sg, sampler, runner, multi, evalRunner, ck, log);
  } finally {
    await runner.release();
    if (multi) await multi.runner.release();
    if (evalRunner) await evalRunner.release();
  }
}

async function trainLoop(
  net: Network,
  data: Dataset,
  cfg: TrainConfig,
  opts: TrainOptions,
  sg: ReturnType<typeof buildStepGraph>,
  sampler: BatchSampler,
  runner: Runner,
  multi: { graph: UnrolledStepGraph; runner: Runner } | null,
  evalRunner: Runner | null,
  ck: CheckpointSession | null,
  log: (text: string) => void,
): Promise<TrainResult> {
  // Two steppers over one state: one step per run, and K steps per run (full batches, no
  // checkpoint inside the group). The state moves to whichever runs next (a copy per switch).
  const single = new StepRunner(runner, sg.bindings, sg.initialState);
  const K = multi ? multi.graph.k : 1;
  const grouped = multi ? new StepRunner(multi.runner, multi.graph.bindings, sg.initialState) : null;
  let stepper = single;
  const use = (next: StepRunner) => {
    if (next === stepper) return;
    next.setState(stepper.state as Map<string, TensorData>);
    stepper = next;
  };
  const D = featureSize(data);
  const C = net.spec.classes;
  const labeled = opts.labeled ?? true;
  const B = Math.min(cfg.batch, data.n);
  const stepsPerEpoch = sampler.stepsPerEpoch;
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const ids = exampleIds(data);
  const rngs: LoopRngs = {
    shuffle: Rng.derive(cfg.seed, 'shuffle'),
    dropout: Rng.derive(cfg.seed, 'dropout'),
    jitter: Rng.derive(cfg.seed, 'jitter'),
  };
  // Preallocated batch buffers, one set per step of a group.
  const imageShape = data.shape.length >= 2 ? data.shape : [];
  const newSlot = () => {
    const xRaw = new Float32Array(B * D);
    return {
      xRaw,
      xBuf: cfg.jitter > 0 ? new Float32Array(B * D) : xRaw,
      labels: new BigInt64Array(B),
      targets: new Float32Array(B * C),
      teacherBuf: opts.teacher ? new Float32Array(B * C) : null,
      masks: sg.masks.map((m) => {
        const size = m.rest.reduce((a, b) => a * b, 1);
        return { spec: m, size, buf: new Float32Array(B * size) };
      }),
      scalars: { lr: new Float32Array(1), alpha: new Float32Array([cfg.alpha]), T: new Float32Array([cfg.temperature]), corr: new Float32Array(1) },
    };
  };
  const slots = Array.from({ length: K }, newSlot);
  const scalar = { dtype: 'float32' as const, dims: [] as number[] };
  const fetch1 = { loss: scalar, correct: scalar };
  const fetchK: Record<string, typeof scalar> = {};
  for (let j = 0; j < K; j++) for (const k of ['loss', 'correct']) fetchK[stepName(k, j)] = scalar;
  /** Fill `slot` with the batch `rows` for global step `step`; its feeds (one-step names) and lr. */
  const prepare = (slot: ReturnType<typeof newSlot>, rows: Int32Array, step: number): { feeds: Record<string, TensorData>; lr: number } => {
    const m = rows.length;
    if (m > B) throw new RangeError(`sampler gave a batch of ${m} rows, more than the batch size ${B}`);
    const { xRaw, xBuf, labels, targets, teacherBuf, masks, scalars } = slot;
    targets.fill(0, 0, m * C);
    for (let i = 0; i < m; i++) {
      const row = rows[i];
      xRaw.set(data.x.subarray(row * D, row * D + D), i * D);
      const y = data.y[row];
      labels[i] = BigInt(labeled ? y : -1);
      if (labeled) targets[i * C + y] = 1;
      if (teacherBuf) {
        const id = ids[row];
        teacherBuf.set(opts.teacher!.logits.subarray(id * C, id * C + C), i * C);
      }
    }
    if (cfg.jitter > 0) jitterBatch(xRaw, xBuf, m, imageShape, cfg.jitter, rngs.jitter);
    for (const mk of masks) fillDropoutMask(mk.buf, m * mk.size, mk.spec.p, rngs.dropout);
    const lr = learningRate(cfg.lr, cfg.schedule, step, totalSteps, stepsPerEpoch);
    scalars.lr[0] = lr;
    const feeds: Record<string, TensorData> = {
      input: tensor('float32', [m, ...net.spec.inputShape], xBuf.subarray(0, m * D)),
      labels: tensor('int64', [m], labels.subarray(0, m)),
      targets: tensor('float32', [m, C], targets.subarray(0, m * C)),
      lr: tensor('float32', [], scalars.lr),
    };
    if (cfg.loss !== 'hard') {
      feeds.teacher = tensor('float32', [m, C], teacherBuf!.subarray(0, m * C));
      // Unlabelled data: soft loss only. Alternate mix: hard and soft batches in turn.
      scalars.alpha[0] = !labeled ? 1 : cfg.mix === 'alternate' ? (step % 2 === 0 ? 0 : 1) : cfg.alpha;
      feeds.alpha = tensor('float32', [], scalars.alpha);
      if (cfg.loss === 'soft-ce') feeds.temperature = tensor('float32', [], scalars.T);
    }
    if (cfg.optim.kind !== 'sgd') {
      scalars.corr[0] = adamCorrection(cfg.optim, step + 1);
      feeds.adam_correction = tensor('float32', [], scalars.corr);
    }
    for (const mk of masks) feeds[`mask/${mk.spec.name}`] = tensor('float32', [m, ...mk.spec.rest], mk.buf.subarray(0, m * mk.size));
    return { feeds, lr };
  };
  /** Whether a checkpoint falls due after one of the steps globalStep+1 … globalStep+K−1. */
  const checkpointInside = (from: number) => !!ck && ck.every > 0 && Math.floor((from + K - 1) / ck.every) > Math.floor(from / ck.every);

  const history: EpochEvent[] = [];
  const t0 = performance.now();
  let globalStep = 0;
  let graphRuns = 0;
  let startEpoch = 0;
  let resumeAt: CheckpointProgress | null = null;
  /** Global step of the last state known to be finite (checked or checkpointed). */
  let lastGoodStep = 0;
  /** The run's first step loss (floored at 1): the explosion check's reference. */
  let firstLoss: number | undefined;
  const explodeFactor = opts.explodeFactor ?? DEFAULT_EXPLODE_FACTOR;
  if (!(Number.isFinite(explodeFactor) && explodeFactor >= 0)) throw new RangeError(`explodeFactor must be a finite number ≥ 0 (0: off), got ${explodeFactor}`);
  const resumed = ck?.resumed;
  if (resumed) {
    const p = resumed.header.progress;
    stepper.setState(resumed.state);
    history.push(...(resumed.header.history as EpochEvent[]));
    startEpoch = p.epoch;
    globalStep = p.globalStep;
    lastGoodStep = globalStep;
    rngs.shuffle.state = p.epochStartShuffle;
    rngs.dropout.state = p.rngs.dropout;
    rngs.jitter.state = p.rngs.jitter;
    resumeAt = p.stepInEpoch > 0 ? p : null;
    log(
      p.epoch >= cfg.epochs
        ? `resuming from ${resumed.path}: this training already finished (${cfg.epochs} epochs); using its final weights`
        : `resuming from ${resumed.path}: epoch ${p.epoch + 1}/${cfg.epochs}, step ${p.stepInEpoch}/${stepsPerEpoch} (global step ${p.globalStep})`,
    );
  }
  const weightCheck = (where: string) => {
    const bad = firstNonFinite(stepper.state);
    if (bad) {
      throw new DivergenceError(
        `weight '${bad.name}'[${bad.index}] became ${bad.value} between global steps ${lastGoodStep} and ${globalStep} (${where})${ck?.lastSaved ? `; the last good checkpoint ${ck.lastSaved} is intact` : ''}; likely causes: learning rate too high (${cfg.lr}) or a temperature/alpha setting that makes the gradients explode`,
      );
    }
    lastGoodStep = globalStep;
  };
  for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
    const te = performance.now();
    let lossSum = 0;
    let correct = 0;
    let lr = cfg.lr;
    let s = 0;
    let priorSeconds = 0;
    const epochStartShuffle = rngs.shuffle.state;
    const batches = sampler.epoch(epoch, rngs.shuffle)[Symbol.iterator]();
    if (resumeAt) {
      // Regenerate this epoch's batch order from the shuffle state at its start and skip the
      // batches already taken; the stream then stands where the checkpoint left it.
      for (let k = 0; k < resumeAt.stepInEpoch; k++) {
        if (batches.next().done) throw new RangeError(`checkpoint: epoch ${epoch + 1} has fewer than ${resumeAt.stepInEpoch} batches`);
      }
      if (rngs.shuffle.state.join() !== resumeAt.rngs.shuffle.join()) throw new RangeError('checkpoint: the batch sampler did not regenerate the same batch order (is it deterministic in its RNG?)');
      s = resumeAt.stepInEpoch;
      lossSum = resumeAt.lossSum;
      correct = resumeAt.correct;
      lr = resumeAt.lr;
      priorSeconds = resumeAt.epochSeconds;
      resumeAt = null;
    }
    const progressNow = (): CheckpointProgress => ({
      epoch,
      stepInEpoch: s,
      globalStep,
      epochStartShuffle,
      rngs: { shuffle: rngs.shuffle.state, dropout: rngs.dropout.state, jitter: rngs.jitter.state },
      lossSum,
      correct,
      lr,
      epochSeconds: priorSeconds + (performance.now() - te) / 1000,
    });
    const pending: Int32Array[] = [];
    for (;;) {
      // Group K steps when the epoch has K left and no checkpoint falls inside; pull batches ahead
      // only then (a sampler may draw from its stream lazily, and checkpoints record the stream).
      const want = grouped && stepsPerEpoch - s >= K && !checkpointInside(globalStep) ? K : 1;
      while (pending.length < want) {
        const it = batches.next();
        if (it.done) break;
        pending.push(it.value);
      }
      if (!pending.length) break;
      const n = want === K && pending.length === K && pending.every((r) => r.length === B) ? K : 1;
      const group = pending.splice(0, n);
      const prepared = group.map((rows, j) => prepare(slots[j], rows, globalStep + j));
      let out: Record<string, TensorData>;
      graphRuns++;
      if (n === 1) {
        use(single);
        out = await stepper.step(prepared[0].feeds, fetch1);
      } else {
        use(grouped!);
        const feeds: Record<string, TensorData> = {};
        prepared.forEach((p, j) => {
          for (const [k, v] of Object.entries(p.feeds)) feeds[stepName(k, j)] = v;
        });
        out = await stepper.step(feeds, fetchK);
      }
      for (let j = 0; j < n; j++) {
        const m = group[j].length;
        lr = prepared[j].lr;
        const l = (out[n === 1 ? 'loss' : stepName('loss', j)].data as Float32Array)[0];
        if (!Number.isFinite(l)) {
          throw new DivergenceError(
            `loss became ${l} at epoch ${epoch + 1}, step ${s + 1} (global step ${globalStep + 1}); likely causes: learning rate too high (${lr.toPrecision(3)}), or a temperature/alpha setting that makes the loss explode${ck?.lastSaved ? `; the last good checkpoint ${ck.lastSaved} is intact` : ''}`,
          );
        }
        firstLoss ??= Math.max(1, l);
        if (explodeFactor > 0 && l > explodeFactor * firstLoss) {
          throw new DivergenceError(
            `loss exploded to ${l.toPrecision(3)} at epoch ${epoch + 1}, step ${s + 1} (global step ${globalStep + 1}), over ${explodeFactor}× the run's first ${firstLoss.toPrecision(3)}; likely cause${cfg.loss === 'hard' ? '' : 's'}: learning rate too high (${lr.toPrecision(3)})${cfg.loss === 'hard' ? '' : ', or a confident teacher at a high temperature without a learning-rate warm-up'}${ck?.lastSaved ? `; the last good checkpoint ${ck.lastSaved} is intact` : ''}`,
          );
        }
        lossSum += l * m;
        correct += (out[n === 1 ? 'correct' : stepName('correct', j)].data as Float32Array)[0];
        if (opts.onEvent && (s % (opts.stepEvery ?? 20) === 0 || s === stepsPerEpoch - 1)) {
          opts.onEvent({ type: 'step', epoch: epoch + 1, step: s + 1, stepsPerEpoch, loss: l });
        }
        s++;
        globalStep++;
        // Only after a group's last step: checkpointInside kept the others clear of checkpoints.
        if (ck && ck.every > 0 && globalStep % ck.every === 0 && s < stepsPerEpoch) {
          weightCheck(`checked before the checkpoint at epoch ${epoch + 1}, step ${s}`);
          ck.save(progressNow(), history, stepper.state);
        }
      }
    }
    const seconds = priorSeconds + (performance.now() - te) / 1000;
    const evalOn = async (ds: Dataset): Promise<EvalSummary> => {
      const extra: Record<string, TensorData> = {};
      for (const [k, v] of stepper.state) extra[k] = v;
      const { out } = await predictAll(evalRunner!, ds.x, ds.n, net.spec.inputShape, { extra, inputName: 'input', outputName: 'logits' });
      return summarise(argmaxRows(out, ds.n, C), ds.y, Math.max(C, ds.classes));
    };
    const test = opts.test ? await evalOn(opts.test) : undefined;
    const evals: EvalSummary[] = [];
    for (const ds of opts.evalSets ?? []) evals.push(await evalOn(ds));
    opts.onEpochEnd?.(epoch + 1, stepper.state);
    const ev: EpochEvent = {
      type: 'epoch',
      epoch: epoch + 1,
      epochs: cfg.epochs,
      loss: lossSum / sampler.rowsPerEpoch,
      trainAccuracy: labeled ? correct / sampler.rowsPerEpoch : NaN,
      test,
      evals: opts.evalSets ? evals : undefined,
      seconds,
      samplesPerSec: sampler.rowsPerEpoch / seconds,
      lr,
    };
    history.push(ev);
    opts.onEvent?.(ev);
    weightCheck(`checked at the end of epoch ${epoch + 1}`);
    if (ck) {
      s = 0;
      lossSum = 0;
      correct = 0;
      ck.save({ ...progressNow(), epoch: epoch + 1, stepInEpoch: 0, epochStartShuffle: rngs.shuffle.state, epochSeconds: 0 }, history, stepper.state);
    }
  }
  syncNetwork(net, stepper.state);
  for (const [k, v] of net.params) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new DivergenceError(`weight '${k}' became non-finite; likely cause: learning rate too high`);
    }
  }
  return { history, seconds: (performance.now() - t0) / 1000, graphRuns };
}

interface CheckpointSession {
  every: number;
  resumed: Checkpoint | null;
  lastSaved: string | null;
  save(p: CheckpointProgress, history: EpochEvent[], state: ReadonlyMap<string, TensorData>): void;
}

/**
 * Name this training's checkpoint files, compute its identity (config, data and teacher
 * hashes, initial state) and, when resuming, load and check its checkpoint.
 */
function setupCheckpoints(
  net: Network,
  data: Dataset,
  cfg: TrainConfig,
  opts: TrainOptions,
  initial: ReadonlyMap<string, TensorData>,
  sampler: BatchSampler,
  log: (text: string) => void,
): CheckpointSession {
  const c = cfg.checkpoint!;
  const { checkpoint: _omit, ...config } = cfg;
  const init = stateHash(initial);
  const teacher = opts.teacher ? sha256Hex(new Uint8Array(opts.teacher.logits.buffer, opts.teacher.logits.byteOffset, opts.teacher.logits.byteLength)) : null;
  const labeled = opts.labeled ?? true;
  const identity: RunIdentity = {
    model: net.spec,
    config,
    data: { hash: datasetHash(data), n: data.n, shape: [...data.shape], classes: data.classes },
    teacher,
    labeled,
    sampler: { stepsPerEpoch: sampler.stepsPerEpoch, rowsPerEpoch: sampler.rowsPerEpoch, custom: !!opts.sampler },
    init,
    state: [...initial].map(([k, v]) => `${k}[${v.dims.join(',')}]`),
  };
  // What tells apart the trainings of one command (teacher/student, one per specialist) — not
  // the settings a user might change by mistake, which are compared instead.
  const name = checkpointName(c.label ?? 'run', { model: net.spec, loss: cfg.loss, init, labeled });
  let resumed: Checkpoint | null = null;
  if (c.resume) {
    resumed = loadForResume(c.dir, name, identity, log);
    if (!resumed) {
      const others = listCheckpoints(c.dir).length;
      log(`no checkpoint of this training in ${c.dir}${others ? ` (${others} file(s) there belong to other trainings)` : ''}; starting it from the beginning`);
    } else {
      const r = resumed.header.run;
      if (c.run !== undefined && r !== undefined) {
        const diff = diffKeysShallow(r, c.run);
        if (diff.length) throw new UsageError(`--resume ${c.dir}: the run differs from the checkpointed one in ${diff.join(', ')}`);
      }
    }
  }
  const session: CheckpointSession = {
    every: c.every ?? resumed?.header.every ?? 0,
    resumed,
    lastSaved: null,
    save(p, history, state) {
      session.lastSaved = saveCheckpoint(c.dir, name, { identity, run: c.run, every: session.every, progress: p, history }, state);
    },
  };
  return session;
}

/** Top-level keys that differ between two flat records (e.g. CLI flags). */
function diffKeysShallow(a: unknown, b: unknown): string[] {
  const A = (a ?? {}) as Record<string, unknown>;
  const B = (b ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(A), ...Object.keys(B)])].sort();
  return keys.filter((k) => JSON.stringify(A[k]) !== JSON.stringify(B[k])).map((k) => `${k} (${JSON.stringify(A[k])} → ${JSON.stringify(B[k])})`);
}
