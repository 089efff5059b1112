import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binomialHalfCdf, errorInterval, holmRejects, mcnemar, mcnemarP, wrongMask } from '../../src/util/stats.js';
import { Rng } from '../../src/util/rng.js';

/** log C(n, k) summed term by term in float64: the plain reference. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}
/** P(X ≤ k) for X ~ Binomial(n, p), summing the pmf (log space per term). */
function refCdf(k: number, n: number, p: number): number {
  let s = 0;
  for (let i = 0; i <= Math.min(k, n); i++) s += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return s;
}
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

test('binomialHalfCdf matches a direct float64 sum of the binomial pmf', () => {
  const rng = new Rng(20261129);
  for (let t = 0; t < 200; t++) {
    const n = 1 + rng.int(400);
    const k = rng.int(n + 1);
    const got = binomialHalfCdf(k, n);
    const want = refCdf(k, n, 0.5);
    assert.ok(rel(got, want) < 1e-6, `n=${n} k=${k}: ${got} vs ${want}`);
  }
  assert.equal(binomialHalfCdf(-1, 10), 0);
  assert.equal(binomialHalfCdf(10, 10), 1);
});

test('mcnemar counts the discordant examples and its p-value is the two-sided exact binomial one', () => {
  const rng = new Rng(7);
  const n = 3000;
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    a[i] = rng.float() < 0.03 ? 1 : 0;
    b[i] = rng.float() < 0.05 ? 1 : 0;
    if (a[i] && !b[i]) onlyA++;
    if (b[i] && !a[i]) onlyB++;
  }
  const m = mcnemar(a, b);
  assert.equal(m.onlyA, onlyA);
  assert.equal(m.onlyB, onlyB);
  const want = Math.min(1, 2 * refCdf(Math.min(onlyA, onlyB), onlyA + onlyB, 0.5));
  assert.ok(rel(m.pValue, want) < 1e-6, `${m.pValue} vs ${want}`);
  // Symmetric in A and B.
  assert.equal(mcnemar(b, a).pValue, m.pValue);
  // Values scipy.stats.binomtest gives for the same discordant counts.
  assert.ok(rel(mcnemarP(30, 50), 0.03299261842647619) < 1e-6);
  assert.ok(rel(mcnemarP(5, 80), 1.8057729139211306e-18) < 1e-6);
  // No discordant examples: no evidence either way; a tie is p = 1.
  assert.equal(mcnemarP(0, 0), 1);
  assert.equal(mcnemarP(20, 20), 1);
  assert.throws(() => mcnemar(new Uint8Array(3), new Uint8Array(4)), /3 and 4 examples/);
});

test('errorInterval is Clopper–Pearson: each end leaves (1 − level)/2 in its binomial tail', () => {
  const rng = new Rng(11);
  for (let t = 0; t < 40; t++) {
    const n = 100 + rng.int(10000);
    const errors = 1 + rng.int(Math.min(300, n - 1));
    for (const level of [0.9, 0.95, 0.99]) {
      const { lo, hi } = errorInterval(errors, n, level);
      const a = (1 - level) / 2;
      assert.ok(lo < errors && errors < hi, `${errors}/${n}: [${lo}, ${hi}]`);
      // At the lower end, seeing `errors` or more has probability a; at the upper end, seeing `errors` or fewer.
      assert.ok(rel(1 - refCdf(errors - 1, n, lo / n), a) < 1e-5, `lower end ${lo} for ${errors}/${n} at ${level}`);
      assert.ok(rel(refCdf(errors, n, hi / n), a) < 1e-5, `upper end ${hi} for ${errors}/${n} at ${level}`);
    }
  }
  // scipy.stats.binomtest(76, 10000).proportion_ci(0.95, 'exact')
  const s = errorInterval(76, 10000);
  assert.ok(rel(s.lo, 59.92473847335033) < 1e-7 && rel(s.hi, 95.03425850715326) < 1e-7, JSON.stringify(s));
  // Edges: none wrong, all wrong.
  assert.equal(errorInterval(0, 1000).lo, 0);
  assert.ok(rel(errorInterval(0, 1000).hi, 1000 * (1 - 0.025 ** (1 / 1000))) < 1e-6);
  assert.equal(errorInterval(1000, 1000).hi, 1000);
  assert.throws(() => errorInterval(5, 0), /n must be a positive integer, got 0/);
  assert.throws(() => errorInterval(11, 10), /errors must be an integer in \[0, 10\], got 11/);
  assert.throws(() => errorInterval(1.5, 10), /errors must be an integer/);
  assert.throws(() => errorInterval(1, 10, 1), /level must be in \(0, 1\), got 1/);
});

test('wrongMask marks the examples whose prediction differs from the label', () => {
  assert.deepEqual([...wrongMask([1, 2, 3, 4], [1, 0, 3, 0])], [0, 1, 0, 1]);
  assert.throws(() => wrongMask([1, 2], [1]), /2 predictions for 1 labels/);
});

test('holmRejects steps down through the sorted p-values and stops at the first that fails', () => {
  // m = 4 at 5%: thresholds 0.0125, 0.0167, 0.025, 0.05 for the sorted p-values.
  assert.deepEqual(holmRejects([0.03, 0.001, 0.012, 0.04]), [false, true, true, false]); // 0.03 > 0.025: stop
  assert.deepEqual(holmRejects([0.01, 0.015, 0.02, 0.04]), [true, true, true, true]);
  assert.deepEqual(holmRejects([0.013, 0.001]), [true, true]); // 0.001 ≤ 0.025, then 0.013 ≤ 0.05
  assert.deepEqual(holmRejects([0.03, 0.03]), [false, false]);
  // Bonferroni would reject only the first (0.04 > 0.05 / 2); Holm's second threshold is 0.05.
  assert.deepEqual(holmRejects([0.001, 0.04], 0.05), [true, true]);
  assert.deepEqual(holmRejects([]), []);
  // Always at least as strict as testing each one alone.
  const rng = new Rng(3);
  for (let t = 0; t < 100; t++) {
    const ps = Array.from({ length: 1 + rng.int(8) }, () => rng.float() ** 3);
    holmRejects(ps).forEach((r, i) => assert.ok(!r || ps[i] <= 0.05));
  }
});
