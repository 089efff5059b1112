/**
 * The training loop: seeded shuffles, batches assembled into preallocated buffers (inputs,
 * jitter, labels, one-hot targets, teacher rows looked up by example id, dropout masks), one
 * step-graph run per batch, per-epoch evaluation and events. Every random draw comes from a
 * seeded stream, so the same seed gives bitwise the same weights.
 */
import { type TensorData, tensor } from '../graph/ir.js';
import { type Dataset, exampleIds, featureSize } from '../data/dataset.js';
import { jitterBatch } from '../data/augment.js';
import { type LossKind } from '../distill/losses.js';
import { type OptimConfig, DEFAULT_OPTIM, adamCorrection } from '../optim/optimizers.js';
import { type ScheduleConfig, learningRate, validateSchedule } from '../optim/schedule.js';
import { type RuntimeOptions, Runner, StepRunner } from '../runtime/session.js';
import { DivergenceError } from '../util/errors.js';
import { Rng, type RngState } from '../util/rng.js';
import { argmaxRows, forwardGraphWithParamInputs, predictAll, summarise, type EvalSummary } from './evaluate.js';
import type { Network } from './network.js';
import { buildStepGraph, syncNetwork } from './step.js';

export type MixKind = 'convex' | 'alternate';

export interface TrainConfig {
  epochs: number;
  batch: number;
  lr: number;
  schedule: ScheduleConfig;
  optim: OptimConfig;
  /** Max random shift in pixels (0 = none); needs image-shaped data. */
  jitter: number;
  seed: number;
  loss: LossKind;
  temperature: number;
  alpha: number;
  mix: MixKind;
}

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 10,
  batch: 128,
  lr: 0.05,
  schedule: { kind: 'cosine' },
  optim: DEFAULT_OPTIM,
  jitter: 0,
  seed: 1,
  loss: 'hard',
  temperature: 20,
  alpha: 0.9,
  mix: 'convex',
};

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
}

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
}

export function validateTrainConfig(c: TrainConfig): void {
  const pos = (k: keyof TrainConfig, v: number, int: boolean) => {
    if (!(Number.isFinite(v) && v > 0 && (!int || Number.isInteger(v)))) throw new RangeError(`${k} must be a ${int ? 'positive integer' : 'positive number'}, got ${v}`);
  };
  pos('epochs', c.epochs, true);
  pos('batch', c.batch, true);
  pos('lr', c.lr, false);
  pos('temperature', c.temperature, false);
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${c.alpha}`);
  if (!(Number.isInteger(c.jitter) && c.jitter >= 0)) throw new RangeError(`jitter must be a non-negative integer, got ${c.jitter}`);
  if (!['convex', 'alternate'].includes(c.mix)) throw new RangeError(`mix must be convex or alternate, got '${c.mix}'`);
  validateSchedule(c.schedule);
}

/**
 * Inverted-dropout mask: each entry 1/(1−p) with probability 1−p, else 0. Two 16-bit uniforms
 * per 32-bit draw (p is quantised to 1/65536).
 */
export function fillDropoutMask(buf: Float32Array, n: number, p: number, rng: Rng): void {
  const keep = 1 / (1 - p);
  const thr = Math.round(p * 65536);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r = rng.nextU32();
    buf[i] = (r & 0xffff) >= thr ? keep : 0;
    buf[i + 1] = r >>> 16 >= thr ? keep : 0;
  }
  if (i < n) buf[i] = (rng.nextU32() & 0xffff) >= thr ? keep : 0;
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
  if (cfg.jitter > 0 && data.shape.length < 2) throw new RangeError(`jitter needs image-shaped data ([C,H,W]); this data's examples have shape [${data.shape}]`);

  const sg = buildStepGraph(net, cfg.loss, cfg.optim);
  const runner = await Runner.create(sg.graph, opts.runtime);
  const stepper = new StepRunner(runner, sg.bindings, sg.initialState);
  const evalRunner = opts.test || opts.evalSets?.length ? await Runner.create(forwardGraphWithParamInputs(net), opts.runtime) : null;

  const sampler = opts.sampler ?? shuffledBatches(data.n, Math.min(cfg.batch, data.n));
  const B = Math.min(cfg.batch, data.n);
  const stepsPerEpoch = sampler.stepsPerEpoch;
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const ids = exampleIds(data);
  const rngs: LoopRngs = {
    shuffle: Rng.derive(cfg.seed, 'shuffle'),
    dropout: Rng.derive(cfg.seed, 'dropout'),
    jitter: Rng.derive(cfg.seed, 'jitter'),
  };
  // Preallocated batch buffers.
  const xRaw = new Float32Array(B * D);
  const xBuf = cfg.jitter > 0 ? new Float32Array(B * D) : xRaw;
  const labels = new BigInt64Array(B);
  const targets = new Float32Array(B * C);
  const teacherBuf = opts.teacher ? new Float32Array(B * C) : null;
  const masks = sg.masks.map((m) => ({ spec: m, size: m.rest.reduce((a, b) => a * b, 1), buf: new Float32Array(B * m.rest.reduce((a, b) => a * b, 1)) }));
  const imageShape = data.shape.length >= 2 ? data.shape : [];
  const scalars = {
    lr: new Float32Array(1),
    alpha: new Float32Array([cfg.alpha]),
    T: new Float32Array([cfg.temperature]),
    corr: new Float32Array(1),
  };
  const fetch = { loss: { dtype: 'float32' as const, dims: [] as number[] }, correct: { dtype: 'float32' as const, dims: [] as number[] } };

  const history: EpochEvent[] = [];
  const t0 = performance.now();
  let globalStep = 0;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const te = performance.now();
    let lossSum = 0;
    let correct = 0;
    let lr = cfg.lr;
    let s = 0;
    for (const rows of sampler.epoch(epoch, rngs.shuffle)) {
      const m = rows.length;
      if (m > B) throw new RangeError(`sampler gave a batch of ${m} rows, more than the batch size ${B}`);
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
      lr = learningRate(cfg.lr, cfg.schedule, globalStep, totalSteps, stepsPerEpoch);
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
        scalars.alpha[0] = !labeled ? 1 : cfg.mix === 'alternate' ? (globalStep % 2 === 0 ? 0 : 1) : cfg.alpha;
        feeds.alpha = tensor('float32', [], scalars.alpha);
        if (cfg.loss === 'soft-ce') feeds.temperature = tensor('float32', [], scalars.T);
      }
      if (cfg.optim.kind !== 'sgd') {
        scalars.corr[0] = adamCorrection(cfg.optim, globalStep + 1);
        feeds.adam_correction = tensor('float32', [], scalars.corr);
      }
      for (const mk of masks) feeds[`mask/${mk.spec.name}`] = tensor('float32', [m, ...mk.spec.rest], mk.buf.subarray(0, m * mk.size));
      const out = await stepper.step(feeds, fetch);
      const l = (out.loss.data as Float32Array)[0];
      if (!Number.isFinite(l)) {
        throw new DivergenceError(
          `loss became ${l} at epoch ${epoch + 1}, step ${s + 1} (global step ${globalStep + 1}); likely causes: learning rate too high (${lr.toPrecision(3)}), or a temperature/alpha setting that makes the loss explode`,
        );
      }
      lossSum += l * m;
      correct += (out.correct.data as Float32Array)[0];
      if (opts.onEvent && (s % (opts.stepEvery ?? 20) === 0 || s === stepsPerEpoch - 1)) {
        opts.onEvent({ type: 'step', epoch: epoch + 1, step: s + 1, stepsPerEpoch, loss: l });
      }
      s++;
      globalStep++;
    }
    const seconds = (performance.now() - te) / 1000;
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
  }
  syncNetwork(net, stepper.state);
  for (const [k, v] of net.params) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new DivergenceError(`weight '${k}' became non-finite; likely cause: learning rate too high`);
    }
  }
  await runner.release();
  if (evalRunner) await evalRunner.release();
  return { history, seconds: (performance.now() - t0) / 1000 };
}
