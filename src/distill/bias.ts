/**
 * Bias adjustment after training on a skewed transfer set (Hinton, Vinyals & Dean 2015, §3):
 * a student that never saw a class (digit 3 left out) under-predicts it, one that saw only some
 * classes (7s and 8s) over-predicts them; adding an offset to those classes' output biases
 * repairs much of it. The offset is chosen on a held-out split of the TRAINING set (never the
 * test set): the candidate with the fewest held-out errors, ties going to the smallest |offset|.
 *
 * `holdoutSplit` is the split both `dk distill --holdout N` (kept out of the transfer set) and
 * `dk bias --holdout N` (used to pick the offset) draw, from the same seed.
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../train/network.js';
import { UsageError } from '../util/errors.js';

/** Moved to data/subset.ts; re-exported here for the modules that still import it from distill. */
export { holdoutSplit } from '../data/subset.js';

/** Default candidates: −10 … +10 in steps of 0.25. */
export function biasGrid(lo = -10, hi = 10, step = 0.25): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && step > 0 && hi >= lo)) throw new RangeError(`biasGrid: need lo ≤ hi and step > 0, got ${lo}, ${hi}, ${step}`);
  const out: number[] = [];
  const k = Math.round((hi - lo) / step);
  for (let i = 0; i <= k; i++) out.push(Math.round((lo + i * step) * 1e9) / 1e9);
  return out;
}

function checkClasses(classes: readonly number[], C: number): void {
  if (!Array.isArray(classes) || classes.length === 0) throw new RangeError('bias: expected at least one class id');
  for (const c of classes) if (!(Number.isInteger(c) && c >= 0 && c < C)) throw new RangeError(`bias: class ${c} is out of range for ${C} classes`);
}

/** Errors of argmax(logits + offset on `classes`) against `labels`. */
export function errorsWithOffset(logits: Float32Array, labels: Int32Array, classes: readonly number[], offset: number): number {
  const n = labels.length;
  const C = logits.length / n;
  const add = new Float64Array(C);
  for (const c of classes) add[c] = offset;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let k = 0; k < C; k++) {
      const v = logits[i * C + k] + add[k];
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    if (best !== labels[i]) errors++;
  }
  return errors;
}

export interface BiasPick {
  offset: number;
  /** Held-out errors at the chosen offset. */
  errors: number;
  /** Held-out errors with no offset. */
  baseline: number;
  curve: { offset: number; errors: number }[];
}

/**
 * Pick the offset, added to the logits (equivalently the output biases) of `classes`, that
 * minimises errors on held-out `logits`/`labels` (n × C, row-major). Ties: the smallest |offset|.
 */
export function pickBiasOffset(logits: Float32Array, labels: Int32Array, classes: readonly number[], candidates: readonly number[] = biasGrid()): BiasPick {
  const n = labels.length;
  if (n === 0) throw new RangeError('pickBiasOffset: no held-out examples');
  if (logits.length % n !== 0) throw new RangeError(`pickBiasOffset: ${logits.length} logits do not divide into ${n} rows`);
  const C = logits.length / n;
  checkClasses(classes, C);
  if (candidates.length === 0 || candidates.some((o) => !Number.isFinite(o))) throw new RangeError('pickBiasOffset: candidates must be a non-empty list of finite numbers');
  const curve = candidates.map((offset) => ({ offset, errors: errorsWithOffset(logits, labels, classes, offset) }));
  let best = curve[0];
  for (const p of curve) if (p.errors < best.errors || (p.errors === best.errors && Math.abs(p.offset) < Math.abs(best.offset))) best = p;
  return { offset: best.offset, errors: best.errors, baseline: errorsWithOffset(logits, labels, classes, 0), curve };
}

/** A copy of a dark-knowledge network with `offset` added to the output biases of `classes` ('out.bias'). */
export function withBiasOffset(net: Network, classes: readonly number[], offset: number): Network {
  const b = net.params.get('out.bias');
  if (!b) throw new UsageError(`the model has no output bias 'out.bias' to adjust (parameters: ${[...net.params.keys()].join(', ')})`);
  checkClasses(classes, b.length);
  const copy = net.clone();
  const nb = copy.params.get('out.bias')!;
  for (const c of classes) nb[c] += offset;
  return copy;
}
