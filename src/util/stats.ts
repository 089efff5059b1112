/**
 * How sure a test-set comparison is: exact binomial intervals on an error count and the exact
 * McNemar test for two classifiers scored on the same examples. The special functions (the
 * regularised incomplete beta and its inverse) come from jstat.
 */
import jstat from 'jstat';

const { jStat } = jstat;

/** A two-sided interval on an error count, in errors (not rates). */
export interface CountInterval {
  lo: number;
  hi: number;
}

/**
 * The Clopper–Pearson ("exact") interval for `errors` wrong out of `n`: the error rates whose
 * binomial tail beyond the observed count is at least (1 − level)/2 on each side, times n.
 * Conservative: it covers the true count at least `level` of the time.
 */
export function errorInterval(errors: number, n: number, level = 0.95): CountInterval {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`errorInterval: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(errors) && errors >= 0 && errors <= n)) throw new RangeError(`errorInterval: errors must be an integer in [0, ${n}], got ${errors}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`errorInterval: level must be in (0, 1), got ${level}`);
  const a = (1 - level) / 2;
  const lo = errors === 0 ? 0 : jStat.beta.inv(a, errors, n - errors + 1);
  const hi = errors === n ? 1 : jStat.beta.inv(1 - a, errors + 1, n - errors);
  return { lo: lo * n, hi: hi * n };
}

/** P(X ≤ k) for X ~ Binomial(n, ½). */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  // P(X ≤ k) = I_{1/2}(n − k, k + 1)
  return jStat.ibeta(0.5, n - k, k + 1);
}

export interface McNemar {
  /** Examples A gets wrong and B gets right. */
  onlyA: number;
  /** Examples B gets wrong and A gets right. */
  onlyB: number;
  /** Two-sided exact p-value: how often a split at least this uneven arises when A and B are equally good. */
  pValue: number;
}

/**
 * The exact McNemar test: only the examples exactly one of the two classifiers gets wrong
 * carry information; if both are equally good, each such example is A's error with chance ½.
 * p = min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b + c, ½).
 */
export function mcnemar(aWrong: ArrayLike<boolean | number>, bWrong: ArrayLike<boolean | number>): McNemar {
  if (aWrong.length !== bWrong.length) throw new RangeError(`mcnemar: the two classifiers were scored on ${aWrong.length} and ${bWrong.length} examples; expected the same examples`);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < aWrong.length; i++) {
    const a = !!aWrong[i];
    const b = !!bWrong[i];
    if (a && !b) onlyA++;
    else if (b && !a) onlyB++;
  }
  return { onlyA, onlyB, pValue: mcnemarP(onlyA, onlyB) };
}

/** The exact McNemar p-value from the two discordant counts. */
export function mcnemarP(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialHalfCdf(Math.min(onlyA, onlyB), n));
}

/**
 * Holm's step-down procedure (Holm 1979): which of several hypotheses to reject so that the chance
 * of rejecting any true one stays at most `alpha` together. The k-th smallest p-value (k = 0, 1, …)
 * must be ≤ alpha / (m − k), and so must every smaller one.
 */
export function holmRejects(pValues: readonly number[], alpha = 0.05): boolean[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const out = new Array<boolean>(m).fill(false);
  for (let k = 0; k < m; k++) {
    if (!(order[k].p <= alpha / (m - k))) break;
    out[order[k].i] = true;
  }
  return out;
}

/** Which test examples a classifier gets wrong: predicted[i] ≠ labels[i]. */
export function wrongMask(predicted: ArrayLike<number>, labels: ArrayLike<number>): Uint8Array {
  if (predicted.length !== labels.length) throw new RangeError(`wrongMask: ${predicted.length} predictions for ${labels.length} labels`);
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = predicted[i] !== labels[i] ? 1 : 0;
  return out;
}
