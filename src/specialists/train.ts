/**
 * Training one specialist (Hinton, Vinyals & Dean 2015, section 5.1).
 *
 * Model. The generalist's architecture and weights, with a new output layer over the group's
 * classes plus one dustbin class: `spec.classes = |G| + 1`, every parameter and buffer copied
 * except `out.weight` [in, C] and `out.bias` [C], which become [in, |G|+1] and [|G|+1]:
 * column i (i < |G|) = the generalist's column for class g_i (its logit for that class is
 * unchanged); the dustbin column is a linear function of the generalist's columns, W_D = W a,
 * b_D = b·a + a_0 — by default ('mean') the mean of the non-group columns with log|R| added
 * to the bias, or ('fit') the a that best reproduces the generalist's folded distribution on
 * the training data. See ./dustbin.ts for why and for measurements.
 *
 * Data. All training examples; labels folded (class g_i → i, every other class → dustbin).
 * Batches come from {@link specialistBatches}: half from the group's classes, half from the rest,
 * seeded (one epoch = one pass over the group's examples). Soft targets: the generalist's
 * probabilities at T = 1, folded (dustbin = sum of the non-group probabilities), handed to the
 * trainer as log-probabilities, so its `softmax(t/T)` gives g(p_folded; T). Loss 'soft-ce':
 * α·T²·CE(g(p_folded;T), softmax(s/T)) + (1−α)·CE(y_folded, softmax(s)); α = 0 trains on hard
 * labels alone ('hard' loss, no teacher).
 *
 * What the paper did and what we do. The paper's JFT specialists were trained on hard labels
 * from the enriched set (with early stopping); section 6 proposes soft targets from the
 * generalist as the better regulariser for them ("we are currently exploring this approach").
 * Both are here: `alpha` weighs the soft term. The CLI default is α = 0, hard labels as in the
 * paper, because that measured best on held-out validation splits: MNIST with an mlp:30
 * generalist (330 errors), specialists for 20 epochs, combined errors 293 at α = 0, 299 at
 * α = 0.1, 312 at α = 0.5 (top-1 activation); at α = 0.5 the soft term keeps a specialist
 * too close to the generalist for it to add anything.
 *
 * Dustbin bias. After training, out.bias[dustbin] += log(oversampling factor) (see
 * {@link dustbinLogBias} for the prior-shift derivation). The factor corrects the hard term's
 * prior shift exactly; the soft term targets the natural posteriors already, so with α > 0 the
 * correction is, in principle, somewhat too large for that share — we still apply the full
 * amount, as the paper does, and the bias is baked into the saved specialist (the manifest
 * records it for reference; it must not be added again at inference).
 */
import type { Dataset } from '../data/dataset.js';
import { type BatchSampler, type EpochEvent, type TrainConfig, type TrainEvent, trainNetwork } from '../train/trainer.js';
import { Network } from '../train/network.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { Rng } from '../util/rng.js';
import { type ClassMap, classMap, dustbinLogBias, foldLabels, foldProbs, groupFraction, oversamplingFactor, specialistBatches, specialistBatchesPerEpoch } from './fold.js';
import { LOG_PROB_FLOOR, logProbsFromProbs, softmaxRows } from '../util/softmax.js';
import type { Labels } from './check.js';
import { type DustbinInit, type DustbinReadout, fitDustbinReadout, meanDustbinReadout } from './dustbin.js';

/**
 * A specialist for `group` built from `generalist`: same architecture and weights, output layer
 * over the group's classes + dustbin (see the top of this file for the dustbin initialisation).
 * The generalist is not modified.
 */
export function specialistNetwork(generalist: Network, group: readonly number[], readout?: DustbinReadout): Network {
  const C = generalist.spec.classes;
  const map = classMap(group, C);
  const K = map.dustbin + 1;
  const W = generalist.params.get('out.weight');
  const b = generalist.params.get('out.bias');
  if (!W || !b || b.length !== C || W.length % C !== 0) {
    throw new RangeError(`specialistNetwork: the generalist has no output layer 'out.weight' [in, ${C}] / 'out.bias' [${C}]`);
  }
  const inF = W.length / C;
  const a = readout ?? meanDustbinReadout(C, map.group);
  if (a.length !== C + 1) throw new RangeError(`specialistNetwork: readout must hold C + 1 = ${C + 1} coefficients, got ${a.length}`);
  const W2 = new Float32Array(inF * K);
  const b2 = new Float32Array(K);
  for (let r = 0; r < inF; r++) {
    const src = r * C;
    const dst = r * K;
    map.group.forEach((c, i) => (W2[dst + i] = W[src + c]));
    let s = 0;
    for (let c = 0; c < C; c++) s += a[c] * W[src + c];
    W2[dst + map.dustbin] = s;
  }
  map.group.forEach((c, i) => (b2[i] = b[c]));
  let sb = a[C];
  for (let c = 0; c < C; c++) sb += a[c] * b[c];
  b2[map.dustbin] = sb;

  const params = new Map<string, Float32Array>();
  for (const [k, v] of generalist.params) params.set(k, v.slice());
  params.set('out.weight', W2);
  params.set('out.bias', b2);
  const buffers = new Map<string, Float32Array>();
  for (const [k, v] of generalist.buffers) buffers.set(k, v.slice());
  const spec = JSON.parse(JSON.stringify(generalist.spec));
  spec.classes = K;
  const net = new Network(spec, params, buffers);
  // A named generalist gives named specialists: the group's names, then 'dustbin'.
  if (generalist.classNames) {
    const names = new Array<string>(K);
    map.group.forEach((c, i) => (names[i] = generalist.classNames![c]));
    names[map.dustbin] = 'dustbin';
    net.classNames = names;
  }
  return net;
}

/**
 * The generalist's probabilities (softmax of its logits at T = 1), folded onto the group +
 * dustbin, as log-probabilities (n×(|G|+1), float32; log 0 clamped to {@link LOG_PROB_FLOOR} and
 * each row renormalised, exactly as distillation's teacher targets are).
 * The trainer's soft target softmax(t/T) of these is g(p_folded; T).
 */
export function foldedLogProbs(generalistLogits: Float32Array, C: number, group: readonly number[]): Float32Array {
  const n = generalistLogits.length / C;
  const folded = foldProbs(softmaxRows(generalistLogits, n, C), C, group);
  const K = group.length + 1;
  return logProbsFromProbs(folded, n, K, new Float32Array(n * K));
}

/**
 * The enriched sampler for the trainer: each epoch one pass over the group's examples, every
 * batch half group, half rest ({@link specialistBatches}), drawn from the trainer's seeded
 * shuffle stream.
 */
export function enrichedSampler(labels: Labels, group: readonly number[], C: number, batch: number, groupShare = 0.5): BatchSampler {
  const map = classMap(group, C);
  let inGroup = 0;
  for (let i = 0; i < labels.length; i++) if (map.toSpecialist[labels[i]] !== map.dustbin) inGroup++;
  const stepsPerEpoch = specialistBatchesPerEpoch(inGroup, batch, groupShare);
  // The number of rows per epoch does not depend on the draws: count them once.
  let rowsPerEpoch = 0;
  for (const b of specialistBatches(labels, group, batch, new Rng(0), { groupShare, classes: C })) rowsPerEpoch += b.length;
  return {
    stepsPerEpoch,
    rowsPerEpoch,
    epoch: (_e: number, rng: Rng) => specialistBatches(labels, group, batch, rng, { groupShare, classes: C }),
  };
}

/** The data with labels folded onto the group + dustbin (examples shared, not copied). */
export function foldedDataset(ds: Dataset, group: readonly number[], C: number): Dataset {
  const map = classMap(group, C);
  // Rows are their own ids here: the soft targets are computed for this dataset's rows.
  return { x: ds.x, y: foldLabels(ds.y, group, C), n: ds.n, shape: ds.shape, classes: map.dustbin + 1, source: `${ds.source} (specialist [${map.group.join(',')}] + dustbin)` };
}

export interface SpecialistTrainOptions {
  generalist: Network;
  group: readonly number[];
  /** Training data with the generalist's labels (0..C−1). */
  train: Dataset;
  /** The generalist's logits on `train`, n×C, row i for train row i. */
  generalistLogits: Float32Array;
  /**
   * Epochs, batch, lr, schedule, optimiser, jitter, seed, temperature (of the soft targets) and
   * alpha (weight of the soft term; 0 = hard labels only). `loss` and `mix` are taken from here
   * when alpha > 0 ('soft-ce' is used unless 'logit-mse' is asked for).
   */
  config: TrainConfig;
  /** Share of each batch from the group; default 0.5. */
  groupShare?: number;
  /** Optional test data (generalist labels): the folded task is evaluated after each epoch. */
  test?: Dataset;
  runtime?: RuntimeOptions;
  onEvent?: (e: TrainEvent) => void;
  /** Starting dustbin column: 'mean' (default) or 'fit' (see ./dustbin.ts). */
  dustbinInit?: DustbinInit;
  /** Add the dustbin bias to out.bias after training (default true; false for tests). */
  raiseDustbin?: boolean;
}

export interface TrainedSpecialist {
  network: Network;
  map: ClassMap;
  /** Share of the training examples in the group. */
  groupFraction: number;
  oversamplingFactor: number;
  /** log(oversamplingFactor): added to out.bias[dustbin] after training (when raiseDustbin). */
  dustbinBias: number;
  history: EpochEvent[];
  seconds: number;
}

/** Train one specialist (see the top of this file for the recipe). */
export async function trainSpecialist(o: SpecialistTrainOptions): Promise<TrainedSpecialist> {
  const C = o.generalist.spec.classes;
  const map = classMap(o.group, C);
  if (o.train.classes > C) throw new RangeError(`trainSpecialist: the data has ${o.train.classes} classes but the generalist outputs ${C}`);
  if (o.generalistLogits.length !== o.train.n * C) {
    throw new RangeError(`trainSpecialist: generalistLogits.length must be n × C = ${o.train.n} × ${C}, got ${o.generalistLogits.length}`);
  }
  const share = o.groupShare ?? 0.5;
  const f = groupFraction(o.train.y, map.group, C);
  const factor = oversamplingFactor(f, share);
  const bias = dustbinLogBias(f, share);
  const init = o.dustbinInit ?? 'mean';
  const readout = init === 'fit' ? fitDustbinReadout(o.generalistLogits, softmaxRows(o.generalistLogits, o.train.n, C), C, map.group) : meanDustbinReadout(C, map.group);
  const net = specialistNetwork(o.generalist, map.group, readout);
  const data = foldedDataset(o.train, map.group, C);
  const soft = o.config.alpha > 0;
  const cfg: TrainConfig = { ...o.config, loss: soft ? (o.config.loss === 'logit-mse' ? 'logit-mse' : 'soft-ce') : 'hard' };
  const teacher = soft ? { logits: foldedLogProbs(o.generalistLogits, C, map.group), classes: map.dustbin + 1 } : undefined;
  const sampler = enrichedSampler(o.train.y, map.group, C, Math.min(cfg.batch, o.train.n), share);
  const res = await trainNetwork(net, data, cfg, {
    teacher,
    sampler,
    test: o.test ? foldedDataset(o.test, map.group, C) : undefined,
    runtime: o.runtime,
    onEvent: o.onEvent,
  });
  if (o.raiseDustbin ?? true) net.params.get('out.bias')![map.dustbin] += bias;
  return { network: net, map, groupFraction: f, oversamplingFactor: factor, dustbinBias: bias, history: res.history, seconds: res.seconds };
}
