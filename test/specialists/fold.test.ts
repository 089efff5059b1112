import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  applyDustbinBias,
  classMap,
  dustbinLogBias,
  foldLabels,
  foldProbs,
  groupFraction,
  oversamplingFactor,
  softmaxRows,
  specialistBatches,
  specialistBatchesPerEpoch,
} from '../../src/specialists/index.js';

function randomProbs(rng: Rng, n: number, C: number): Float64Array {
  const P = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) s += P[i * C + k] = Math.exp(3 * rng.normal());
    for (let k = 0; k < C; k++) P[i * C + k] /= s;
  }
  return P;
}

test('classMap: group members in order, everything else to the dustbin', () => {
  const m = classMap([7, 2, 4], 9);
  assert.deepEqual(m.group, [2, 4, 7]);
  assert.equal(m.dustbin, 3);
  assert.deepEqual(Array.from(m.toSpecialist), [3, 3, 0, 3, 1, 3, 3, 2, 3]);
});

test('foldProbs preserves probability mass and keeps member columns', () => {
  const rng = new Rng(2024);
  const C = 12;
  const n = 200;
  const P = randomProbs(rng, n, C);
  for (let trial = 0; trial < 5; trial++) {
    const size = 1 + rng.int(C - 1);
    const group = Array.from(rng.permutation(C).subarray(0, size));
    const F = foldProbs(P, C, group);
    const g = [...group].sort((a, b) => a - b);
    const K = g.length + 1;
    assert.equal(F.length, n * K);
    for (let i = 0; i < n; i++) {
      let sP = 0;
      let sF = 0;
      let dust = 0;
      for (let c = 0; c < C; c++) {
        sP += P[i * C + c];
        if (!g.includes(c)) dust += P[i * C + c];
      }
      for (let j = 0; j < K; j++) sF += F[i * K + j];
      assert.ok(Math.abs(sF - sP) < 1e-14, `row ${i}: ${sF} vs ${sP}`);
      g.forEach((c, j) => assert.equal(F[i * K + j], P[i * C + c]));
      assert.ok(Math.abs(F[i * K + K - 1] - dust) < 1e-15);
    }
  }
  // Float32 in, Float32 out, mass preserved to float32 rounding.
  const P32 = Float32Array.from(P);
  const F32 = foldProbs(P32, C, [0, 5]);
  assert.ok(F32 instanceof Float32Array);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += F32[i * 3 + j];
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
});

test('foldLabels and groupFraction', () => {
  const y = [0, 3, 5, 3, 9, 1, 5, 5];
  assert.deepEqual(Array.from(foldLabels(y, [5, 3], 10)), [2, 0, 1, 0, 2, 2, 1, 1]);
  assert.deepEqual(Array.from(foldLabels(Int32Array.from(y), [5, 3], 10)), [2, 0, 1, 0, 2, 2, 1, 1]);
  assert.equal(groupFraction(y, [3, 5], 10), 5 / 8);
  assert.throws(() => foldLabels(y, [3, 5], 6), /labels\[4\] = 9 is not a class id in \[0, 5\]/);
});

test('the class count is never inferred from the labels (no phantom class C = max label + 2)', () => {
  const y = [0, 1, 2, 2, 1, 0];
  // Without C there is no way to know how many classes there are: refused, naming C.
  assert.throws(() => foldLabels(y, [0, 1], undefined as unknown as number), (e: unknown) => e instanceof TypeError && /foldLabels: C must be a number/.test((e as Error).message));
  assert.throws(() => groupFraction(y, [0, 1], undefined as unknown as number), TypeError);
  assert.throws(() => specialistBatches(y, [0, 1], 4, new Rng(1), {} as { classes: number }), TypeError);
  // With C = 3, classes 0..2 only: a group of two leaves exactly one dustbin class, 2.
  assert.deepEqual(Array.from(foldLabels(y, [0, 1], 3)), [0, 1, 2, 2, 1, 0]);
  assert.throws(() => foldLabels(y, [0, 1, 2], 3), /group must hold between 1 and 2 classes \(C = 3\)/);
});

test('dustbin bias: numeric example and prior-shift correction', () => {
  // Group classes are 20% of the data, half of every specialist batch.
  assert.ok(Math.abs(oversamplingFactor(0.2) - 4) < 1e-15);
  assert.ok(Math.abs(dustbinLogBias(0.2) - Math.log(4)) < 1e-15); // ≈ 1.386
  // General share r: factor = r(1−f) / ((1−r) f); r = 0.25, f = 0.1 → 0.25·0.9/(0.75·0.1) = 3.
  assert.ok(Math.abs(oversamplingFactor(0.1, 0.25) - 3) < 1e-14);

  // A specialist trained on the enriched distribution learns the posterior under the training
  // priors; adding log(factor) to its dustbin logit gives back the natural folded posterior.
  const prior = [0.1, 0.1, 0.3, 0.25, 0.25]; // natural priors, group {0, 1}: f = 0.2
  const group = [0, 1];
  const f = groupFraction([0, 1, 2, 2, 2, 3, 3, 4, 4, 4].slice(0, 10), group, 5); // 0.2
  assert.equal(f, 0.2);
  const r = 0.5;
  const trainPrior = prior.map((p, k) => (group.includes(k) ? (r * p) / f : ((1 - r) * p) / (1 - f)));
  const likelihood = [0.3, 0.05, 0.2, 0.6, 0.1]; // p(x | k) for one x
  const natural = likelihood.map((l, k) => l * prior[k]);
  const zn = natural.reduce((a, b) => a + b, 0);
  const naturalFolded = [natural[0] / zn, natural[1] / zn, (natural[2] + natural[3] + natural[4]) / zn];
  const trained = likelihood.map((l, k) => l * trainPrior[k]);
  // The specialist's logits: log of its (unnormalised) folded training posterior.
  const z = new Float64Array([Math.log(trained[0]), Math.log(trained[1]), Math.log(trained[2] + trained[3] + trained[4])]);
  const before = softmaxRows(z, 1, 3);
  assert.ok(Math.abs(before[2] - naturalFolded[2]) > 0.05, 'uncorrected dustbin is off');
  applyDustbinBias(z, 3, dustbinLogBias(f, r));
  const after = softmaxRows(z, 1, 3);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(after[j] - naturalFolded[j]) < 1e-14, `output ${j}`);
});

function makeLabels(rng: Rng, n: number, C: number): Int32Array {
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.float() < 0.3 ? rng.int(3) : rng.int(C); // unbalanced
  return y;
}

test('enriched sampler: half-group batches, one pass over the group, reproducible', () => {
  const y = makeLabels(new Rng(5), 1000, 10);
  const group = [3, 7];
  const inG = (i: number) => y[i] === 3 || y[i] === 7;
  const nG = Array.from(y).filter((c) => c === 3 || c === 7).length;
  const B = 32;
  const batches = [...specialistBatches(y, group, B, new Rng(77), { classes: 10 })];
  assert.equal(batches.length, specialistBatchesPerEpoch(nG, B));
  assert.equal(batches.length, Math.ceil(nG / 16));
  const seenG = new Set<number>();
  batches.forEach((b, bi) => {
    const g = Array.from(b).filter(inG).length;
    if (bi < batches.length - 1) {
      assert.equal(b.length, B);
      assert.equal(g, B / 2);
    } else {
      assert.equal(b.length - g, g, 'last batch keeps the 1:1 ratio');
    }
    assert.equal(new Set(b).size, b.length, 'no repeats inside a batch');
    for (const i of b) if (inG(i)) seenG.add(i);
  });
  assert.equal(seenG.size, nG, 'each group example once per epoch');
  // Reproducible from the seed; a different seed or the next epoch differ.
  const again = [...specialistBatches(y, group, B, new Rng(77), { classes: 10 })];
  assert.deepEqual(again, batches);
  const other = [...specialistBatches(y, group, B, new Rng(78), { classes: 10 })];
  assert.notDeepEqual(other, batches);
  const rng = new Rng(77);
  const e1 = [...specialistBatches(y, group, B, rng, { classes: 10 })];
  const e2 = [...specialistBatches(y, group, B, rng, { classes: 10 })];
  assert.deepEqual(e1, batches);
  assert.notDeepEqual(e2, e1);
  // Odd batch size and another share.
  for (const b of specialistBatches(y, group, 9, new Rng(1), { groupShare: 0.25, classes: 10 })) {
    const g = Array.from(b).filter(inG).length;
    if (b.length === 9) assert.equal(g, 2);
  }
});

test('bad calls name the parameter', () => {
  assert.throws(() => classMap([], 5), /group must hold between 1 and 4 classes/);
  assert.throws(() => classMap([0, 1, 2, 3, 4], 5), /group must hold between 1 and 4 classes/);
  assert.throws(() => classMap([1, 1], 5), /holds class 1 twice/);
  assert.throws(() => classMap([1, 5], 5), /holds 5, not a class id in \[0, 4\]/);
  assert.throws(() => foldProbs(new Float64Array(7), 5, [1]), /P.length \(7\) must be a multiple of 5/);
  assert.throws(() => oversamplingFactor(0), /groupFraction must be in \(0, 1\)/);
  assert.throws(() => oversamplingFactor(0.5, 1), /batchGroupShare must be in \(0, 1\)/);
  const y = [0, 1, 2, 3];
  assert.throws(() => specialistBatches(y, [1], 1, new Rng(1), { classes: 10 }), /batchSize must be an integer >= 2/);
  assert.throws(() => specialistBatches(y, [1], 4, new Rng(1), { groupShare: 1, classes: 10 }), /groupShare must be in \(0, 1\)/);
  assert.throws(() => specialistBatches([1, 1, 2], [1, 2], 3, new Rng(1), { classes: 3 }), /dustbin has no examples/);
  assert.throws(() => specialistBatches(y, [7], 4, new Rng(1), { classes: 10 }), /no example in labels belongs to group \[7\]/);
  assert.throws(() => specialistBatches(y, [1], 4, {} as Rng, { classes: 10 }), TypeError);
  assert.throws(() => applyDustbinBias(new Float64Array(4), 3, 1), /multiple of 3/);
});
