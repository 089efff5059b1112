/**
 * Tempered targets and teacher-output kinds (Hinton, Vinyals & Dean 2015, §2), in plain
 * TypeScript over row-major n × C arrays with float64 accumulation.
 *
 * From probabilities y:  g(y;T)_k = y_k^(1/T) / Σ_k' y_k'^(1/T)
 *                                 = softmax(log y / T)_k            (computed this way: log domain)
 * From logits z:         softmax(z / T)_k = exp(z_k/T − m) / Σ_k' exp(z_k'/T − m),  m = max_k z_k/T
 *
 * The identity g(y;T) = softmax(log y / T) is why a probability teacher is fed to the trainer
 * as log-probabilities in place of logits: the loss computes softmax(teacher / T) either way.
 *
 * Zero probabilities are clamped at LOG_PROB_FLOOR = log(2^−149) ≈ −103.28 (see src/util/softmax.ts,
 * where the softmax, log-softmax, the floor and the log-probabilities live for every module).
 */

import { LOG_PROB_FLOOR, logProbsFromProbs, logSoftmaxRows, softmaxRows } from '../util/softmax.js';

export { LOG_PROB_FLOOR, logProbsFromProbs, logSoftmaxRows };

export type TeacherKind = 'logits' | 'probs';

/** Tolerance on a row's sum for it to count as a probability row: |Σ_k y_k − 1| ≤ this. */
export const PROB_SUM_TOL = 1e-3;

function checkShape(a: ArrayLike<number>, n: number, C: number, what: string): void {
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(C) && C >= 1)) throw new RangeError(`${what}: n and C must be non-negative / positive integers, got n=${n}, C=${C}`);
  if (a.length !== n * C) throw new RangeError(`${what}: expected ${n}×${C} = ${n * C} values, got ${a.length}`);
}

function checkT(T: number): void {
  if (!(Number.isFinite(T) && T > 0)) throw new RangeError(`temperature must be a positive number, got ${T}`);
}

/** softmax(z/T) row by row, computed stably (max subtracted): {@link softmaxRows} with its default order. */
export function temperedFromLogits(z: ArrayLike<number>, n: number, C: number, T: number): Float64Array {
  checkShape(z, n, C, 'temperedFromLogits');
  checkT(T);
  return softmaxRows(z, n, C, { temperature: T });
}

/** g(y;T)_k = y_k^(1/T) / Σ y_k'^(1/T), computed as softmax(log y / T) (zeros clamped, see LOG_PROB_FLOOR). */
export function temperedFromProbs(p: ArrayLike<number>, n: number, C: number, T: number): Float64Array {
  checkShape(p, n, C, 'temperedFromProbs');
  checkT(T);
  return temperedFromLogits(logProbsFromProbs(p, n, C), n, C, T);
}

export interface KindDetection {
  kind: TeacherKind;
  /** One line saying why (for the progress log). */
  reason: string;
  minValue: number;
  /** Smallest and largest row sum. */
  sumRange: [number, number];
}

/**
 * Decide whether teacher outputs are probabilities (every value ≥ 0 and every row summing to 1
 * within PROB_SUM_TOL) or logits (anything else). Non-finite outputs are an error.
 */
export function detectTeacherKind(out: ArrayLike<number>, n: number, C: number, tol = PROB_SUM_TOL): KindDetection {
  checkShape(out, n, C, 'detectTeacherKind');
  let minValue = Infinity;
  let lo = Infinity;
  let hi = -Infinity;
  let badRows = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) {
      const v = out[i * C + k];
      if (!Number.isFinite(v)) throw new RangeError(`teacher output row ${i} holds a non-finite value (${v})`);
      if (v < minValue) minValue = v;
      s += v;
    }
    if (s < lo) lo = s;
    if (s > hi) hi = s;
    if (Math.abs(s - 1) > tol) badRows++;
  }
  if (n === 0) return { kind: 'logits', reason: 'no rows to inspect; assuming logits', minValue: NaN, sumRange: [NaN, NaN] };
  const range = `row sums ${lo.toPrecision(6)}…${hi.toPrecision(6)}`;
  if (minValue >= 0 && badRows === 0) {
    return { kind: 'probs', reason: `all ${n} rows non-negative and summing to 1 ± ${tol} (${range})`, minValue, sumRange: [lo, hi] };
  }
  const why = minValue < 0 ? `negative values (min ${minValue.toPrecision(4)})` : `${badRows} of ${n} rows not summing to 1 ± ${tol}`;
  return { kind: 'logits', reason: `${why}; ${range}`, minValue, sumRange: [lo, hi] };
}

/**
 * Teacher outputs of the given kind as float32 log-probabilities, the form the trainer takes as
 * 'teacher' logits (softmax(row / T) is the tempered target either way; log-softmax only shifts
 * each row of logits by a constant, which neither soft-ce nor the centred logit-mse sees).
 */
export function toLogProbs(out: ArrayLike<number>, n: number, C: number, kind: TeacherKind): Float32Array {
  const o = new Float32Array(n * C);
  return kind === 'probs' ? logProbsFromProbs(out, n, C, o) : logSoftmaxRows(out, n, C, o);
}
