import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { LOG_PROB_FLOOR, argmaxRows, logProbsFromProbs, logSoftmaxRows, softmaxRows } from '../../src/util/softmax.js';
import { argmaxRows as evaluateArgmaxRows } from '../../src/train/evaluate.js';
import * as specialists from '../../src/specialists/index.js';
import * as distillation from '../../src/distill/index.js';
import { softmaxT } from '../../src/paper/helpers.js';

// The formulas the published numbers were computed with, copied from the implementations this
// module replaced: the paper's softmaxT (T applied before the max) and the confusability
// softmaxRows / the report example's softmax (T applied after subtracting the max).
function refScaleThenShift(z: ArrayLike<number>, off: number, C: number, T: number): number[] {
  let m = -Infinity;
  for (let k = 0; k < C; k++) m = Math.max(m, z[off + k] / T);
  const e: number[] = [];
  let s = 0;
  for (let k = 0; k < C; k++) {
    const v = Math.exp(z[off + k] / T - m);
    e.push(v);
    s += v;
  }
  return e.map((v) => v / s);
}
function refShiftThenScale(z: ArrayLike<number>, off: number, C: number, T: number): number[] {
  let mx = -Infinity;
  for (let k = 0; k < C; k++) if (z[off + k] > mx) mx = z[off + k];
  const e: number[] = [];
  let s = 0;
  for (let k = 0; k < C; k++) {
    const v = Math.exp((z[off + k] - mx) / T);
    e.push(v);
    s += v;
  }
  return e.map((v) => v / s);
}

const C = 10;
const n = 40;
const rng = new Rng(17);
const Z = new Float32Array(n * C).map(() => 6 * rng.normal());
const TEMPS = [1, 2, 2.5, 8, 20];

test('one argmaxRows: the root API and the specialists export the same function, called (p, n, C)', () => {
  assert.equal(specialists.argmaxRows, evaluateArgmaxRows);
  assert.equal(evaluateArgmaxRows, argmaxRows);
  const P = Float64Array.from([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0, 0.2, 0.8]);
  assert.deepEqual(specialists.argmaxRows(P, 3, 3), Int32Array.from([1, 0, 2]), 'first index on ties');
  assert.deepEqual(evaluateArgmaxRows(Float32Array.from(P), 3, 3), Int32Array.from([1, 0, 2]));
  assert.throws(() => evaluateArgmaxRows(P, 4, 3), (e: unknown) => e instanceof RangeError && /argmaxRows: p must hold n × C = 4×3 = 12 values, got 9/.test(e.message));
  assert.throws(() => argmaxRows(P, 3, 0), RangeError);
});

test('one softmaxRows and one LOG_PROB_FLOOR, shared by distillation and the specialists', () => {
  assert.equal(specialists.softmaxRows, softmaxRows);
  assert.equal(specialists.LOG_PROB_FLOOR, distillation.LOG_PROB_FLOOR);
  assert.equal(distillation.LOG_PROB_FLOOR, LOG_PROB_FLOOR);
  assert.equal(LOG_PROB_FLOOR, -149 * Math.LN2);
  assert.equal(distillation.logSoftmaxRows, logSoftmaxRows);
  assert.equal(distillation.logProbsFromProbs, logProbsFromProbs);
  for (const T of TEMPS) assert.deepEqual(distillation.temperedFromLogits(Z, n, C, T), softmaxRows(Z, n, C, { temperature: T }));
});

test('softmaxRows computes, bit for bit, the numbers of the implementations it replaced', () => {
  for (const T of TEMPS) {
    const a = softmaxRows(Z, n, C, { temperature: T });
    const b = softmaxRows(Z, n, C, { temperature: T, order: 'shift-then-scale' });
    for (let i = 0; i < n; i++) {
      assert.deepEqual(Array.from(a.subarray(i * C, i * C + C)), refScaleThenShift(Z, i * C, C, T));
      assert.deepEqual(Array.from(b.subarray(i * C, i * C + C)), refShiftThenScale(Z, i * C, C, T));
      assert.deepEqual(softmaxT(Z, i * C, C, T), refScaleThenShift(Z, i * C, C, T), 'the paper helper');
    }
    const soft = specialists.softOutputs({ logits: Z, temperature: T }, C);
    for (let i = 0; i < n; i++) assert.deepEqual(Array.from(soft.subarray(i * C, i * C + C)), refShiftThenScale(Z, i * C, C, T), 'confusability soft outputs');
  }
  // At T = 1 the two orders agree exactly (z/1 = z).
  assert.deepEqual(softmaxRows(Z, n, C), softmaxRows(Z, n, C, { order: 'shift-then-scale' }));
});

test('softmaxRows is stable for large logits and sums rows to 1', () => {
  const e = [Math.exp(-0.2), 1, Math.exp(-0.4)];
  const s = e[0] + e[1] + e[2];
  const p = softmaxRows([1000, 1001, 999, -5, 0, 5], 2, 3, { temperature: 5, order: 'shift-then-scale' });
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(p[k] - e[k] / s) < 1e-15);
  // Scaling first rounds z/T (≈ 200) before the shift: an error of about ulp(200) ≈ 3e-14.
  const q = softmaxRows([1000, 1001, 999, -5, 0, 5], 2, 3, { temperature: 5 });
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(q[k] - e[k] / s) < 1e-13);
  const sums = [0, 0];
  for (let i = 0; i < 6; i++) sums[Math.floor(i / 3)] += q[i];
  for (const v of sums) assert.ok(Math.abs(v - 1) < 1e-15);
});

test('softmaxRows refuses bad arguments, naming the parameter', () => {
  assert.throws(() => softmaxRows([1, 2], 1, 2, { temperature: 0 }), (e: unknown) => e instanceof RangeError && /softmaxRows: temperature must be a finite number > 0, got 0/.test(e.message));
  assert.throws(() => softmaxRows([1, 2], 1, 2, { temperature: '2' as unknown as number }), TypeError);
  assert.throws(() => softmaxRows([1, 2], 1, 2, { order: 'max-first' as never }), (e: unknown) => e instanceof RangeError && /order must be one of scale-then-shift, shift-then-scale, got max-first/.test(e.message));
  assert.deepEqual(softmaxRows([0, -Infinity], 1, 2), Float64Array.from([1, 0]), '−∞ is probability 0');
  assert.throws(() => specialists.softOutputs({ logits: Float64Array.from([1, NaN]) }, 2), (e: unknown) => e instanceof RangeError && /softOutputs: logits\[0, 1\] = NaN; logits must be finite/.test(e.message));
  assert.throws(() => softmaxRows([1, 2, 3], 1, 2), (e: unknown) => e instanceof RangeError && /z must hold n × C/.test(e.message));
  assert.throws(() => softmaxRows([1, 2], 1, 2, { out: new Float64Array(3) }), (e: unknown) => e instanceof RangeError && /out must hold/.test(e.message));
});

test('logProbsFromProbs clamps zeros at LOG_PROB_FLOOR and renormalises', () => {
  const lp = logProbsFromProbs([0.5, 0, 0.5], 1, 3);
  const lse = Math.log(1 + Math.exp(LOG_PROB_FLOOR));
  assert.ok(Math.abs(lp[1] - (LOG_PROB_FLOOR - lse)) < 1e-12);
  assert.ok(Math.abs(lp[0] - (Math.log(0.5) - lse)) < 1e-15);
});
