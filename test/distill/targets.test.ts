/**
 * Tempered targets, kind detection and ensembles, against plain float64 computations:
 *   g(y;T)_k = y_k^(1/T) / Σ y_k'^(1/T)  (computed directly here) equals softmax(z/T) for y = softmax(z);
 *   mean / geomean ensembles against a hand computation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_PROB_FLOOR, detectTeacherKind, logProbsFromProbs, temperedFromLogits, temperedFromProbs } from '../../src/distill/targets.js';
import { combineTeachers } from '../../src/distill/teacher.js';
import { Rng } from '../../src/util/rng.js';
import { randn, relErr } from './helpers.js';

function softmaxDirect(z: ArrayLike<number>, n: number, C: number): Float64Array {
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[i * C + k]);
    for (let k = 0; k < C; k++) out[i * C + k] = Math.exp(z[i * C + k]) / s;
  }
  return out;
}

/** The paper's formula, literally: y^(1/T) / Σ y^(1/T). */
function gDirect(y: ArrayLike<number>, n: number, C: number, T: number): Float64Array {
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.pow(y[i * C + k], 1 / T);
    for (let k = 0; k < C; k++) out[i * C + k] = Math.pow(y[i * C + k], 1 / T) / s;
  }
  return out;
}

describe('tempered targets', () => {
  it('g(y;T) from probabilities equals softmax(z/T) from the matching logits (random, seeded)', () => {
    const rng = new Rng(11);
    const n = 50;
    const C = 10;
    for (const T of [1, 2.5, 4, 20]) {
      const z = randn(n * C, rng, 4);
      const y = softmaxDirect(z, n, C);
      const fromLogits = temperedFromLogits(z, n, C, T);
      const fromProbs = temperedFromProbs(y, n, C, T);
      const direct = gDirect(y, n, C, T);
      assert.ok(relErr(fromProbs, fromLogits) < 1e-12, `T=${T}: g(y;T) vs softmax(z/T): ${relErr(fromProbs, fromLogits)}`);
      assert.ok(relErr(direct, fromLogits) < 1e-12, `T=${T}: direct formula vs softmax(z/T)`);
      // And from float32 probabilities (what a teacher file gives): close to float32 precision.
      const y32 = Float32Array.from(y);
      assert.ok(relErr(temperedFromProbs(y32, n, C, T), fromLogits) < 1e-5, `T=${T}: from float32 probabilities`);
    }
  });

  it('is stable for huge logits (no overflow) and T → large flattens towards uniform', () => {
    const z = [1000, 0, -1000, 500];
    const g1 = temperedFromLogits(z, 1, 4, 1);
    assert.deepEqual(Array.from(g1).map((v) => +v.toFixed(6)), [1, 0, 0, 0]);
    const g = temperedFromLogits(z, 1, 4, 1e6);
    for (const v of g) assert.ok(Math.abs(v - 0.25) < 1e-3);
  });

  it('zero probabilities are clamped at log(2^−149), so they stay possible at any temperature', () => {
    const lp = logProbsFromProbs([1, 0, 0], 1, 3);
    assert.ok(Math.abs(lp[0]) < 1e-12);
    assert.ok(Math.abs(lp[1] - LOG_PROB_FLOOR) < 1e-9 && Math.abs(LOG_PROB_FLOOR - Math.log(2 ** -149)) < 1e-12);
    const g = temperedFromProbs([1, 0, 0], 1, 3, 20);
    const want = Math.exp(LOG_PROB_FLOOR / 20);
    assert.ok(Math.abs(g[1] / g[0] - want) < 1e-12, 'ratio of a zero class to the top one is 2^(−149/T)');
  });

  it('rejects a non-positive temperature and mismatched sizes', () => {
    assert.throws(() => temperedFromLogits([1, 2], 1, 2, 0), /temperature/);
    assert.throws(() => temperedFromLogits([1, 2], 1, 2, -1), /temperature/);
    assert.throws(() => temperedFromProbs([0.5, 0.5, 0], 1, 2, 1), /expected 1×2/);
  });

  it('detects probabilities (non-negative rows summing to 1) vs logits, and reports why', () => {
    const rng = new Rng(3);
    const z = randn(40 * 10, rng, 3);
    const p = Float32Array.from(softmaxDirect(z, 40, 10));
    const dp = detectTeacherKind(p, 40, 10);
    assert.equal(dp.kind, 'probs');
    assert.match(dp.reason, /non-negative and summing to 1/);
    const dz = detectTeacherKind(Float32Array.from(z), 40, 10);
    assert.equal(dz.kind, 'logits');
    assert.match(dz.reason, /negative values/);
    // Non-negative but not normalised (e.g. ReLU outputs): logits.
    const relu = Float32Array.from(z, (v) => Math.max(v, 0));
    assert.equal(detectTeacherKind(relu, 40, 10).kind, 'logits');
    assert.throws(() => detectTeacherKind([NaN, 1], 1, 2), /non-finite/);
  });
});

describe('ensembles', () => {
  // Two teachers, two examples, three classes, computed by hand.
  const p1 = [0.7, 0.2, 0.1, 0.1, 0.1, 0.8];
  const p2 = [0.5, 0.25, 0.25, 0.3, 0.6, 0.1];

  it("'mean' is the arithmetic mean of the probabilities", () => {
    const lp = combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }, { out: Float32Array.from(p2), kind: 'probs' }], 2, 3, 'mean');
    const want = [0.6, 0.225, 0.175, 0.2, 0.35, 0.45];
    assert.ok(relErr(Array.from(lp, Math.exp), want) < 1e-6, `${Array.from(lp, Math.exp)}`);
  });

  it("'geomean' is the renormalised geometric mean (mean of log-probabilities)", () => {
    const lp = combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }, { out: Float32Array.from(p2), kind: 'probs' }], 2, 3, 'geomean');
    const want: number[] = [];
    for (let i = 0; i < 2; i++) {
      const gm = [0, 1, 2].map((k) => Math.sqrt(p1[i * 3 + k] * p2[i * 3 + k]));
      const s = gm.reduce((a, b) => a + b, 0);
      want.push(...gm.map((v) => v / s));
    }
    // Row 0: sqrt(.35)=.5916, sqrt(.05)=.2236, sqrt(.025)=.1581; sum .9733 → .6078, .2297, .1625
    assert.ok(Math.abs(want[0] - 0.6078) < 1e-4 && Math.abs(want[2] - 0.1625) < 1e-4);
    assert.ok(relErr(Array.from(lp, Math.exp), want) < 1e-6);
  });

  it('mixes a logit teacher with a probability teacher (logits go through softmax first)', () => {
    const z2 = p2.map(Math.log).map((v, i) => v + (i < 3 ? 5 : -2)); // logits of p2, shifted per row
    const a = combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }, { out: Float32Array.from(z2), kind: 'logits' }], 2, 3, 'mean');
    const b = combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }, { out: Float32Array.from(p2), kind: 'probs' }], 2, 3, 'mean');
    assert.ok(relErr(a, b) < 1e-6);
  });

  it('a single teacher gives its log-probabilities; unknown modes are refused', () => {
    const lp = combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }], 2, 3);
    assert.ok(relErr(Array.from(lp, Math.exp), p1) < 1e-6);
    assert.throws(() => combineTeachers([{ out: Float32Array.from(p1), kind: 'probs' }], 2, 3, 'median' as never), /unknown ensemble mode 'median'/);
  });
});
