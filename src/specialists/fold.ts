/**
 * Folding the generalist's C classes onto a specialist's |G| + 1 outputs, the dustbin bias,
 * and the enriched sampler (Hinton, Vinyals & Dean 2015, section 5.1).
 *
 * A specialist for group G (class ids g_0 < g_1 < … < g_{|G|−1}) has output i for class g_i and
 * output |G| (the dustbin, "everything else") for every class outside G.
 */
import { Rng } from '../util/rng.js';
import {
  type Floats,
  type Labels,
  checkClasses,
  checkFloats,
  checkGroup,
  checkLabels,
  checkPositiveInt,
  rowsOf,
} from './check.js';

export interface ClassMap {
  /** The group's classes, ascending: specialist output i ↔ class group[i]. */
  group: number[];
  /** Number of generalist classes C. */
  classes: number;
  /** Specialist output index of the dustbin (= |G|). */
  dustbin: number;
  /** Length C: the specialist output of each generalist class (|G| for non-members). */
  toSpecialist: Int32Array;
}

/** The class map of group G among C classes. Throws for an empty group or one with all classes. */
export function classMap(group: readonly number[], C: number): ClassMap {
  const fn = 'classMap';
  checkClasses(C, fn);
  const g = checkGroup(group, C, fn);
  const toSpecialist = new Int32Array(C).fill(g.length);
  g.forEach((c, i) => (toSpecialist[c] = i));
  return { group: g, classes: C, dustbin: g.length, toSpecialist };
}

/**
 * Fold probabilities P (n×C) onto the specialist's outputs: n×(|G|+1), column i = P[:, g_i],
 * last column (dustbin) = Σ_{c∉G} P[:, c]. Every entry of P lands in exactly one output, so the
 * mass of each row is preserved (exactly up to the rounding of the sums). Returns the input's
 * array type.
 */
export function foldProbs<T extends Floats>(P: T, C: number, group: readonly number[]): T {
  const fn = 'foldProbs';
  checkFloats(P, fn, 'P');
  const map = classMap(group, C);
  const n = rowsOf(P, C, fn, 'P');
  const K = map.dustbin + 1;
  const out = (P instanceof Float32Array ? new Float32Array(n * K) : new Float64Array(n * K)) as T;
  const to = map.toSpecialist;
  for (let i = 0; i < n; i++) {
    // Accumulate the dustbin in float64 and write it once.
    let dust = 0;
    for (let c = 0; c < C; c++) {
      const j = to[c];
      const v = P[i * C + c];
      if (j === map.dustbin) dust += v;
      else out[i * K + j] = v;
    }
    out[i * K + map.dustbin] = dust;
  }
  return out;
}

/** Class map for labels among C classes (C is required: inferring it from the labels would guess). */
function labelMap(labels: Labels, group: readonly number[], C: number, fn: string): ClassMap {
  checkClasses(C, fn);
  const map = classMap(group, C);
  checkLabels(labels, C, fn);
  return map;
}

/** Relabel: class g_i → i, every other class → |G| (the dustbin); labels are checked against C. */
export function foldLabels(labels: Labels, group: readonly number[], C: number): Int32Array {
  const map = labelMap(labels, group, C, 'foldLabels');
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = map.toSpecialist[labels[i]];
  return out;
}

/** Fraction f of the examples whose label is in the group (the group's natural frequency). */
export function groupFraction(labels: Labels, group: readonly number[], C: number): number {
  const fn = 'groupFraction';
  const map = labelMap(labels, group, C, fn);
  if (labels.length === 0) throw new RangeError(`${fn}: labels must not be empty`);
  let m = 0;
  for (let i = 0; i < labels.length; i++) if (map.toSpecialist[labels[i]] !== map.dustbin) m++;
  return m / labels.length;
}

function checkFractions(f: number, r: number, fn: string): void {
  if (typeof f !== 'number' || !(f > 0 && f < 1)) {
    throw new RangeError(`${fn}: groupFraction must be in (0, 1) (the share of group classes in the data), got ${f}`);
  }
  if (typeof r !== 'number' || !(r > 0 && r < 1)) {
    throw new RangeError(`${fn}: batchGroupShare must be in (0, 1) (0.5 = half of each batch from the group), got ${r}`);
  }
}

/**
 * Oversampling factor of the group relative to the dustbin:
 *
 *     factor = (r / f) / ((1 − r) / (1 − f)) = r (1 − f) / ((1 − r) f)
 *
 * where f = the group's share of the natural data and r = its share of each specialist batch
 * (0.5: half-and-half). r/f is how much more often each group class is seen in specialist
 * training than naturally, (1−r)/(1−f) the same for every dustbin class; only their ratio
 * matters to a softmax. With r = 0.5 this is (1 − f) / f.
 */
export function oversamplingFactor(groupFraction: number, batchGroupShare = 0.5): number {
  checkFractions(groupFraction, batchGroupShare, 'oversamplingFactor');
  const f = groupFraction;
  const r = batchGroupShare;
  return (r * (1 - f)) / ((1 - r) * f);
}

/**
 * The amount b added to the specialist's dustbin logit after training: b = log(factor), with
 * the factor of {@link oversamplingFactor}; for half-and-half batches b = log((1 − f)/f).
 *
 * Derivation (prior shift; Hinton et al. 2015 §5.1 raise the dustbin logit "by the log of the
 * oversampling factor"). A classifier trained by cross-entropy on hard labels estimates the
 * posterior under its training distribution: p'(k|x) ∝ p(x|k) π'(k), whereas we want the
 * natural p(k|x) ∝ p(x|k) π(k) = p'(k|x) π(k)/π'(k). The enriched sampler keeps the natural
 * proportions inside the group and inside the rest, so π'(k)/π(k) = r/f for every group
 * output and (1−r)/(1−f) for the dustbin. In logits: z_k ← z_k − log(r/f) for group outputs,
 * z_D ← z_D − log((1−r)/(1−f)). A softmax is unchanged by adding the same constant to every
 * logit; adding log(r/f) to all leaves the group logits as they were and gives
 * z_D ← z_D + log(r/f) − log((1−r)/(1−f)) = z_D + log(factor).
 * Example: f = 0.2, r = 0.5 → factor 4, b = log 4 ≈ 1.386.
 * (With purely soft targets from the generalist, which already are natural posteriors, the
 * shift is not needed; the paper applies it to specialists trained on hard labels.)
 */
export function dustbinLogBias(groupFraction: number, batchGroupShare = 0.5): number {
  return Math.log(oversamplingFactor(groupFraction, batchGroupShare));
}

/** Add `bias` to the dustbin (last) column of specialist logits (n×K, K = |G|+1), in place. */
export function applyDustbinBias<T extends Floats>(logits: T, K: number, bias: number): T {
  const fn = 'applyDustbinBias';
  checkFloats(logits, fn, 'logits');
  checkPositiveInt(K, fn, 'K', 2);
  if (typeof bias !== 'number' || !Number.isFinite(bias)) throw new RangeError(`${fn}: bias must be a finite number, got ${bias}`);
  const n = rowsOf(logits, K, fn, 'logits');
  for (let i = 0; i < n; i++) logits[i * K + K - 1] += bias;
  return logits;
}

export interface SpecialistBatchOptions {
  /** Share of each batch drawn from the group's classes, in (0, 1); default 0.5. */
  groupShare?: number;
  /** Number of classes C, to check the labels against (required). */
  classes: number;
}

/**
 * Number of group examples per full batch: round(batchSize · share), clamped to [1, batchSize−1].
 */
function groupPerBatch(batchSize: number, share: number): number {
  return Math.min(batchSize - 1, Math.max(1, Math.round(batchSize * share)));
}

/**
 * Enriched batches for one specialist epoch, as arrays of example indices into `labels`.
 *
 * An epoch is one pass over the group's examples (shuffled, without replacement). Each batch
 * holds m = round(batchSize · groupShare) group examples and batchSize − m others (labels
 * outside the group; they become the dustbin). The others are drawn without replacement from
 * a shuffled stream (reshuffled whenever it runs out, and afresh at each epoch), so they keep
 * their natural class proportions and are used about equally often. The last batch may hold fewer group examples; it is
 * then given others in the same ratio (at least one). The order inside a batch is shuffled.
 * All randomness comes from `rng`; calling again with the same rng continues the stream (next
 * epoch), and a fresh Rng with the same seed reproduces the batches.
 */
export function specialistBatches(
  labels: Labels,
  group: readonly number[],
  batchSize: number,
  rng: Rng,
  options: SpecialistBatchOptions,
): Generator<Int32Array, void, undefined> {
  // Arguments are checked here, at the call, not lazily at the first next().
  const fn = 'specialistBatches';
  const map = labelMap(labels, group, options?.classes as number, fn);
  checkPositiveInt(batchSize, fn, 'batchSize', 2);
  if (!(rng instanceof Rng)) throw new TypeError(`${fn}: rng must be an Rng`);
  const share = options.groupShare ?? 0.5;
  if (typeof share !== 'number' || !(share > 0 && share < 1)) {
    throw new RangeError(`${fn}: options.groupShare must be in (0, 1), got ${share}`);
  }
  const inG: number[] = [];
  const outG: number[] = [];
  for (let i = 0; i < labels.length; i++) (map.toSpecialist[labels[i]] === map.dustbin ? outG : inG).push(i);
  if (inG.length === 0) throw new RangeError(`${fn}: no example in labels belongs to group [${map.group.join(', ')}]`);
  if (outG.length === 0) throw new RangeError(`${fn}: every example in labels belongs to group [${map.group.join(', ')}]; the dustbin has no examples`);
  return enrichedEpoch(Int32Array.from(inG), Int32Array.from(outG), batchSize, share, rng);
}

function* enrichedEpoch(
  g: Int32Array,
  o: Int32Array,
  batchSize: number,
  share: number,
  rng: Rng,
): Generator<Int32Array, void, undefined> {
  rng.shuffle(g);
  const mFull = groupPerBatch(batchSize, share);
  let oPos = o.length; // forces a shuffle before the first draw
  for (let start = 0; start < g.length; start += mFull) {
    const m = Math.min(mFull, g.length - start);
    const rest = m === mFull ? batchSize - mFull : Math.max(1, Math.round((m * (1 - share)) / share));
    const batch = new Int32Array(m + rest);
    batch.set(g.subarray(start, start + m), 0);
    for (let j = 0; j < rest; j++) {
      if (oPos === o.length) {
        rng.shuffle(o);
        oPos = 0;
      }
      batch[m + j] = o[oPos++];
    }
    rng.shuffle(batch);
    yield batch;
  }
}

/** Number of batches {@link specialistBatches} yields per epoch. */
export function specialistBatchesPerEpoch(groupExamples: number, batchSize: number, groupShare = 0.5): number {
  const fn = 'specialistBatchesPerEpoch';
  checkPositiveInt(groupExamples, fn, 'groupExamples');
  checkPositiveInt(batchSize, fn, 'batchSize', 2);
  if (typeof groupShare !== 'number' || !(groupShare > 0 && groupShare < 1)) {
    throw new RangeError(`${fn}: groupShare must be in (0, 1), got ${groupShare}`);
  }
  return Math.ceil(groupExamples / groupPerBatch(batchSize, groupShare));
}
