import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  classCovariance,
  confusableGroups,
  confusionMatrix,
  findConfusableGroups,
  formatGroupConfusions,
  groupConfusions,
  kmeansPlusPlus,
  softenProbs,
  softOutputs,
} from '../../src/specialists/index.js';
import { plantedOutputs } from './synthetic.js';

const PLANTED = [
  [0, 1, 2],
  [5, 6],
];

test('the soft outputs from logits are stable for large logits and apply the temperature', () => {
  const z = new Float64Array([1000, 1001, 999, -5, 0, 5]);
  const p = softOutputs({ logits: z }, 3);
  const e = [Math.exp(-1), 1, Math.exp(-2)];
  const s = e[0] + e[1] + e[2];
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(p[k] - e[k] / s) < 1e-15);
  const pT = softOutputs({ logits: z, temperature: 5 }, 3);
  const eT = [-5 / 5, 0, 5 / 5].map(Math.exp);
  const sT = eT[0] + eT[1] + eT[2];
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(pT[3 + k] - eT[k] / sT) < 1e-15);
});

test('softenProbs(y, T) equals softmax(log y / T)', () => {
  const rng = new Rng(3);
  const C = 6;
  const y = new Float64Array(4 * C);
  for (let i = 0; i < 4; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) s += y[i * C + k] = rng.float() + 1e-3;
    for (let k = 0; k < C; k++) y[i * C + k] /= s;
  }
  const logy = y.map(Math.log);
  for (const T of [1, 2.5, 20]) {
    const a = softenProbs(y, C, T);
    const b = softOutputs({ logits: logy, temperature: T }, C);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-14);
  }
});

test('classCovariance matches a two-pass covariance and is symmetric', () => {
  const rng = new Rng(11);
  const n = 50;
  const C = 5;
  const P = new Float64Array(n * C);
  for (let i = 0; i < P.length; i++) P[i] = rng.float();
  const S = classCovariance(P, C);
  const m = new Float64Array(C);
  for (let i = 0; i < n; i++) for (let k = 0; k < C; k++) m[k] += P[i * C + k] / n;
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < C; b++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += (P[i * C + a] - m[a]) * (P[i * C + b] - m[b]);
      v /= n;
      assert.ok(Math.abs(S[a * C + b] - v) < 1e-14, `cov[${a},${b}]`);
      assert.equal(S[a * C + b], S[b * C + a]);
    }
  }
});

test('covariance + k-means recover planted confusable groups', () => {
  const s = plantedOutputs(10, 100, PLANTED, 7);
  const cov = classCovariance(s.P, 10);
  // 7 natural clusters: the two planted groups and five singletons (dropped by minSize 2).
  assert.deepEqual(confusableGroups(cov, 10, { groupsPerRun: 7, runs: 3, seed: 5 }), PLANTED);
  // The same from logits (log P) at T = 1, through the one-call API, for several seeds.
  const logits = s.P.map(Math.log);
  for (const seed of [1, 2, 3]) {
    assert.deepEqual(findConfusableGroups({ logits, temperature: 1 }, 10, { groupsPerRun: 7, seed }), PLANTED);
  }
  // A second data set with other random draws.
  const s2 = plantedOutputs(10, 60, PLANTED, 99);
  assert.deepEqual(confusableGroups(classCovariance(s2.P, 10), 10, { groupsPerRun: 7, seed: 8 }), PLANTED);
});

test('several runs and k values give overlapping groups; duplicates are dropped', () => {
  const s = plantedOutputs(10, 100, PLANTED, 7);
  const cov = classCovariance(s.P, 10);
  const groups = confusableGroups(cov, 10, { groupsPerRun: [6, 7], runs: 4, seed: 5 });
  const keys = groups.map((g) => g.join(','));
  assert.equal(new Set(keys).size, keys.length, 'no duplicate groups');
  assert.ok(keys.includes('0,1,2') && keys.includes('5,6'), keys.join(' | '));
  // k = 6 merges the two planted groups: a class is then covered by two groups.
  assert.ok(keys.includes('0,1,2,5,6'), keys.join(' | '));
  const cover0 = groups.filter((g) => g.includes(0)).length;
  assert.ok(cover0 >= 2, 'class 0 is covered by several groups');
  // Sorted lexicographically, each group ascending.
  const sorted = [...keys].sort((a, b) => {
    const x = a.split(',').map(Number);
    const y = b.split(',').map(Number);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
  assert.deepEqual(keys, sorted);
  for (const g of groups) assert.deepEqual(g, [...g].sort((a, b) => a - b));
  // 4 runs of k = 7 find the same two groups each time: 8 clusters of size >= 2 collapse to 2.
  assert.equal(confusableGroups(cov, 10, { groupsPerRun: 7, runs: 4, seed: 5 }).length, 2);
});

test('clustering is reproducible from the seed and respects minSize / maxSize', () => {
  const s = plantedOutputs(10, 100, PLANTED, 7);
  const cov = classCovariance(s.P, 10);
  const opts = { groupsPerRun: [3, 4, 5], runs: 3, seed: 42, restarts: 1 };
  assert.deepEqual(confusableGroups(cov, 10, opts), confusableGroups(cov, 10, opts));
  assert.deepEqual(confusableGroups(cov, 10, { groupsPerRun: 7, minSize: 3 }), [[0, 1, 2]]);
  assert.deepEqual(confusableGroups(cov, 10, { groupsPerRun: 7, maxSize: 2 }), [[5, 6]]);
  for (const g of confusableGroups(cov, 10, { groupsPerRun: [2, 3], runs: 3 })) {
    assert.ok(g.length >= 2 && g.length <= 9);
  }
});

test('kmeansPlusPlus draws distinct seeds reproducibly from our Rng', () => {
  const rng = new Rng(4);
  const pts = Array.from({ length: 20 }, () => [rng.normal(), rng.normal()]);
  const a = kmeansPlusPlus(pts, 5, new Rng(9));
  const b = kmeansPlusPlus(pts, 5, new Rng(9));
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, 5);
  // All points identical: still k distinct indices.
  const same = Array.from({ length: 4 }, () => [1, 1]);
  assert.equal(new Set(kmeansPlusPlus(same, 4, new Rng(1))).size, 4);
});

test('group confusion counts and their text', () => {
  // 4 classes; true × predicted.
  const labels = [0, 0, 0, 1, 1, 2, 2, 3, 3, 3];
  const pred = [0, 1, 1, 0, 1, 2, 3, 3, 2, 0];
  const M = confusionMatrix(labels, pred, 4);
  assert.equal(M[0 * 4 + 1], 2);
  assert.equal(M[3 * 4 + 2], 1);
  const [g01, g23] = groupConfusions(M, 4, [
    [1, 0],
    [2, 3],
  ]);
  assert.deepEqual(g01.group, [0, 1]);
  assert.deepEqual(g01.counts, [
    [1, 2],
    [1, 1],
  ]);
  assert.equal(g01.total, 3);
  assert.equal(g01.examples, 5);
  assert.deepEqual(g23.counts, [
    [1, 1],
    [1, 1],
  ]);
  assert.equal(g23.total, 2);
  assert.equal(g23.examples, 5);
  const lines = formatGroupConfusions([g01, g23], ['zero', 'one', 'two', 'three']);
  assert.match(lines[0], /group 1: \{zero, one\}\s+within-group confusions 3 \(of 5 examples/);
  assert.match(lines[2], /^\s+zero\s+1\s+2$/);
  assert.ok(lines.some((l) => /group 2: \{two, three\}/.test(l)));
});

test('bad calls name the parameter', () => {
  const cov = new Float64Array(16);
  assert.throws(() => confusableGroups(cov, 4, { groupsPerRun: 1 }), /groupsPerRun.*\[2, 4\]/);
  assert.throws(() => confusableGroups(cov, 4, { groupsPerRun: 5 }), /groupsPerRun/);
  assert.throws(() => confusableGroups(cov, 4, { groupsPerRun: [] }), /groupsPerRun/);
  assert.throws(() => confusableGroups(cov, 4, { maxSize: 4 }), /maxSize must be <= C − 1 = 3/);
  assert.throws(() => confusableGroups(cov, 4, { minSize: 3, maxSize: 2 }), /minSize \(3\) must be <= options.maxSize \(2\)/);
  assert.throws(() => confusableGroups(new Float64Array(15), 4), /cov.length must be C × C = 16/);
  assert.throws(() => confusableGroups(cov, 4, { runs: 0 }), RangeError);
  assert.throws(() => classCovariance([1, 2] as unknown as Float64Array, 2), TypeError);
  assert.throws(() => classCovariance(new Float64Array(5), 2), /multiple of 2/);
  assert.throws(() => softOutputs({ logits: new Float64Array(4), temperature: 0 }, 2), /softOutputs: temperature must be a finite number > 0/);
  assert.throws(() => softenProbs(new Float64Array([0.5, 0.6]), 2), /sums to 1.1/);
  assert.throws(() => confusionMatrix([0, 4], [0, 1], 4), /labels\[1\] = 4 is not a class id in \[0, 3\]/);
  assert.throws(() => groupConfusions(new Float64Array(16), 4, [[0, 7]]), /groups\[0\] holds 7/);
});
