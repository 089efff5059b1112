/**
 * Row-wise softmax, log-softmax, log-probabilities and argmax over row-major n × C arrays, in
 * plain TypeScript with float64 accumulation: the one implementation every part of the house
 * uses (distillation targets, confusability, the specialists' combination, the paper's and the
 * report's numbers). It imports nothing, so any layer may import it.
 *
 *   softmax(z/T)_k = exp(z_k/T − m) / Σ_k' exp(z_k'/T − m),   m = max_k z_k/T
 *
 * Where the temperature is applied is a parameter (`order`), because the two orders round
 * differently when T ≠ 1 (they agree bit for bit at T = 1) and published numbers were computed
 * in each:
 * - 'scale-then-shift' (the default): x_k = z_k / T, then exp(x_k − max x). The definition as
 *   written, and what the trainer's ONNX graph computes.
 * - 'shift-then-scale': exp((z_k − max z) / T) — the confusability covariance and the report's
 *   example were computed this way.
 *
 * Zero probabilities: log 0 = −∞ would make a class impossible at every temperature, which is
 * not what a teacher meant. A float32 softmax rounds to 0 exactly when the true value is below
 * the smallest positive float32 (2^−149 ≈ 1.4e−45), so log-probabilities are clamped at
 * LOG_PROB_FLOOR = log(2^−149) ≈ −103.28, the largest value such a zero can stand for. (A floor
 * of log(1e−30) ≈ −69 would claim a smaller logit gap than the teacher had and overstate that
 * class by up to e^((103.28−69.08)/T), ×5.5 at T = 20.)
 */

/** log(2^−149): the log of the smallest positive float32; log-probabilities are clamped here. */
export const LOG_PROB_FLOOR = -149 * Math.LN2;

export type SoftmaxOrder = 'scale-then-shift' | 'shift-then-scale';
export const SOFTMAX_ORDERS: readonly SoftmaxOrder[] = ['scale-then-shift', 'shift-then-scale'];

export interface SoftmaxOptions {
  /** T > 0 (default 1). */
  temperature?: number;
  /** Where T is applied (see the top of this file); default 'scale-then-shift'. */
  order?: SoftmaxOrder;
  /** Written into and returned (n × C); a new Float64Array otherwise. */
  out?: Float64Array;
}

/** n and C non-negative / positive integers and `a` holding n × C values (RangeError otherwise). */
export function checkRows(a: ArrayLike<number>, n: number, C: number, fn: string, param: string): void {
  if (typeof n !== 'number' || typeof C !== 'number') throw new TypeError(`${fn}: n and C must be numbers, got ${typeof n} and ${typeof C}`);
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(C) && C >= 1)) throw new RangeError(`${fn}: n and C must be non-negative / positive integers, got n=${n}, C=${C}`);
  if (a.length !== n * C) throw new RangeError(`${fn}: ${param} must hold n × C = ${n}×${C} = ${n * C} values, got ${a.length}`);
}

function checkTemperature(T: unknown, fn: string): number {
  if (typeof T !== 'number') throw new TypeError(`${fn}: temperature must be a number, got ${typeof T}`);
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`${fn}: temperature must be a finite number > 0, got ${T}`);
  return T;
}

/**
 * Row-wise softmax(z/T), stably (the row maximum is subtracted before exp), summed in float64.
 * The values are not checked (callers taking outside data check them, as softOutputs does):
 * a NaN or +∞ in a row gives NaN there; −∞ gives probability 0 when the row's maximum is finite.
 */
export function softmaxRows(z: ArrayLike<number>, n: number, C: number, options: SoftmaxOptions = {}): Float64Array {
  const fn = 'softmaxRows';
  checkRows(z, n, C, fn, 'z');
  const T = checkTemperature(options.temperature ?? 1, fn);
  const order = options.order ?? 'scale-then-shift';
  if (order !== 'scale-then-shift' && order !== 'shift-then-scale') {
    throw new RangeError(`${fn}: order must be one of ${SOFTMAX_ORDERS.join(', ')}, got ${String(order)}`);
  }
  const out = options.out ?? new Float64Array(n * C);
  if (out.length !== n * C) throw new RangeError(`${fn}: out must hold n × C = ${n * C} values, got ${out.length}`);
  const scaleFirst = order === 'scale-then-shift';
  for (let i = 0; i < n; i++) {
    const o = i * C;
    let mx = -Infinity;
    for (let k = 0; k < C; k++) {
      const x = scaleFirst ? z[o + k] / T : z[o + k];
      if (x > mx) mx = x;
    }
    let s = 0;
    for (let k = 0; k < C; k++) {
      const e = scaleFirst ? Math.exp(z[o + k] / T - mx) : Math.exp((z[o + k] - mx) / T);
      out[o + k] = e;
      s += e;
    }
    for (let k = 0; k < C; k++) out[o + k] /= s;
  }
  return out;
}

/** Row-wise log-softmax of logits (float64 accumulation); returns float64 unless `out` is given (may be z itself). */
export function logSoftmaxRows<A extends Float32Array | Float64Array = Float64Array>(z: ArrayLike<number>, n: number, C: number, out?: A): A {
  checkRows(z, n, C, 'logSoftmaxRows', 'z');
  const o = (out ?? new Float64Array(n * C)) as A;
  for (let i = 0; i < n; i++) {
    const off = i * C;
    let m = -Infinity;
    for (let k = 0; k < C; k++) if (z[off + k] > m) m = z[off + k];
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[off + k] - m);
    const lse = m + Math.log(s);
    for (let k = 0; k < C; k++) o[off + k] = z[off + k] - lse;
  }
  return o;
}

/**
 * Row-wise log-probabilities from probabilities: log y clamped at LOG_PROB_FLOOR, then
 * renormalised in the log domain (rows that sum to 1 up to rounding are barely changed).
 */
export function logProbsFromProbs<A extends Float32Array | Float64Array = Float64Array>(p: ArrayLike<number>, n: number, C: number, out?: A): A {
  checkRows(p, n, C, 'logProbsFromProbs', 'p');
  const l = new Float64Array(C);
  const o = (out ?? new Float64Array(n * C)) as A;
  for (let i = 0; i < n; i++) {
    const off = i * C;
    for (let k = 0; k < C; k++) {
      const v = p[off + k];
      l[k] = v > 0 ? Math.max(Math.log(v), LOG_PROB_FLOOR) : LOG_PROB_FLOOR;
    }
    logSoftmaxRows(l, 1, C, l);
    for (let k = 0; k < C; k++) o[off + k] = l[k];
  }
  return o;
}

/** Index of the largest entry of each row of the n × C array `p` (the first on ties). */
export function argmaxRows(p: ArrayLike<number>, n: number, C: number): Int32Array {
  checkRows(p, n, C, 'argmaxRows', 'p');
  const pred = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = p[i * C];
    for (let k = 1; k < C; k++) {
      const v = p[i * C + k];
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    pred[i] = best;
  }
  return pred;
}
