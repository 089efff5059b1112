import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleIds, type Dataset } from '../../src/data/dataset.js';
import { datasetHash } from '../../src/data/hash.js';
import { classCounts, keepClasses, omitClasses, splitHoldout, stratifiedFraction, subset } from '../../src/data/subset.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** n examples of shape [1,2,3] with skewed random labels over `classes`. */
function synthetic(n: number, classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 6);
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // Class c has weight c + 1: proportions differ between classes.
    let r = rng.int((classes * (classes + 1)) / 2);
    let c = 0;
    while (r >= c + 1) {
      r -= c + 1;
      c++;
    }
    y[i] = c;
  }
  return { x, y, n, shape: [1, 2, 3], classes, source: 'synthetic' };
}

const isSorted = (a: Int32Array) => a.every((v, i) => i === 0 || a[i - 1] < v);

describe('omitClasses / keepClasses', () => {
  const ds = synthetic(2000, 10, 1);

  it('omitClasses removes exactly those labels', () => {
    const idx = omitClasses(ds, [3, 7]);
    const counts = classCounts(ds);
    assert.equal(idx.length, ds.n - counts[3] - counts[7]);
    assert.ok(isSorted(idx));
    for (const i of idx) assert.ok(ds.y[i] !== 3 && ds.y[i] !== 7);
    const sub = subset(ds, idx);
    const sc = classCounts(sub);
    for (let c = 0; c < 10; c++) assert.equal(sc[c], c === 3 || c === 7 ? 0 : counts[c]);
  });

  it('omitClasses([]) keeps everything', () => {
    assert.equal(omitClasses(ds, []).length, ds.n);
  });

  it('keepClasses keeps exactly those labels', () => {
    const idx = keepClasses(ds, [7, 8]);
    const counts = classCounts(ds);
    assert.equal(idx.length, counts[7] + counts[8]);
    for (const i of idx) assert.ok(ds.y[i] === 7 || ds.y[i] === 8);
  });

  it('refuses class ids out of range, naming the parameter', () => {
    assert.throws(() => omitClasses(ds, [10]), (e: Error) => e instanceof UsageError && /omitClasses: class id 10/.test(e.message) && /0\.\.9/.test(e.message));
    assert.throws(() => omitClasses(ds, [-1]), /omitClasses: class id -1/);
    assert.throws(() => keepClasses(ds, [1.5]), /keepClasses: class id 1.5/);
    assert.throws(() => keepClasses(ds, []), /keepClasses: expected at least one/);
    assert.throws(() => omitClasses(ds, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), /leaves no examples/);
  });
});

describe('stratifiedFraction', () => {
  const ds = synthetic(5000, 10, 2);
  const counts = classCounts(ds);

  it('keeps class proportions (largest remainder, ≥ 1 per class)', () => {
    for (const f of [0.03, 0.1, 0.5]) {
      const idx = stratifiedFraction(ds, f, new Rng(3));
      assert.equal(idx.length, Math.round(f * ds.n));
      assert.ok(isSorted(idx));
      const sc = classCounts(subset(ds, idx));
      for (let c = 0; c < 10; c++) assert.ok(Math.abs(sc[c] - f * counts[c]) <= 1, `f=${f} class ${c}: ${sc[c]} vs ${f * counts[c]}`);
    }
  });

  it('takes at least one example of every class present', () => {
    const idx = stratifiedFraction(ds, 0.0001, new Rng(4));
    const sc = classCounts(subset(ds, idx));
    for (let c = 0; c < 10; c++) assert.equal(sc[c], 1);
  });

  it('fraction 1 keeps everything', () => {
    assert.deepEqual(Array.from(stratifiedFraction(ds, 1, new Rng(1))), Array.from({ length: ds.n }, (_, i) => i));
  });

  it('is reproducible from the seed and differs across seeds', () => {
    const a = stratifiedFraction(ds, 0.05, new Rng(9));
    const b = stratifiedFraction(ds, 0.05, new Rng(9));
    const c = stratifiedFraction(ds, 0.05, new Rng(10));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('refuses fractions outside (0, 1]', () => {
    for (const f of [0, -0.1, 1.5, NaN]) {
      assert.throws(() => stratifiedFraction(ds, f, new Rng(1)), (e: Error) => e instanceof UsageError && /fraction must be a number in \(0, 1\]/.test(e.message));
    }
  });
});

describe('subset', () => {
  const ds = synthetic(100, 4, 5);

  it('copies the rows and records example ids, composing through nested subsets', () => {
    const s1 = subset(ds, [5, 9, 20, 50]);
    assert.equal(s1.n, 4);
    assert.deepEqual(s1.shape, ds.shape);
    assert.deepEqual(Array.from(s1.x.subarray(6, 12)), Array.from(ds.x.subarray(54, 60)));
    assert.deepEqual(Array.from(s1.y), [ds.y[5], ds.y[9], ds.y[20], ds.y[50]]);
    const s2 = subset(s1, [3, 1]);
    assert.deepEqual(Array.from(exampleIds(s2)), [50, 9]);
    assert.deepEqual(Array.from(s2.x.subarray(0, 6)), Array.from(ds.x.subarray(300, 306)));
    s1.x[0] = 123;
    assert.notEqual(ds.x[30], 123);
  });

  it('refuses indices out of range', () => {
    assert.throws(() => subset(ds, [0, 100]), /indices\[1\] = 100/);
    assert.throws(() => subset(ds, [-1]), RangeError);
  });
});

describe('splitHoldout', () => {
  const ds = synthetic(1000, 5, 6);
  const counts = classCounts(ds);

  it('splits off a stratified, disjoint, complete holdout by fraction', () => {
    const s = splitHoldout(ds, 0.2, new Rng(1));
    assert.equal(s.holdout.n, 200);
    assert.equal(s.train.n, 800);
    const all = [...s.trainIndices, ...s.holdoutIndices].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i));
    const hc = classCounts(s.holdout);
    for (let c = 0; c < 5; c++) assert.ok(Math.abs(hc[c] - 0.2 * counts[c]) <= 1);
    assert.deepEqual(Array.from(exampleIds(s.holdout)), Array.from(s.holdoutIndices));
  });

  it('takes an exact count and is reproducible', () => {
    const a = splitHoldout(ds, 37, new Rng(2));
    const b = splitHoldout(ds, 37, new Rng(2));
    assert.equal(a.holdout.n, 37);
    assert.deepEqual(a.holdoutIndices, b.holdoutIndices);
    assert.equal(datasetHash(a.train), datasetHash(b.train));
  });

  it('refuses bad amounts', () => {
    for (const v of [0, -1, 1000, 5000, 2.5, NaN]) {
      assert.throws(() => splitHoldout(ds, v, new Rng(1)), (e: Error) => e instanceof UsageError && e.message.startsWith('splitHoldout:'), `amount ${v}`);
    }
  });
});
