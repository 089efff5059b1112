import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { datasetHash } from '../../src/data/hash.js';
import { reshape } from '../../src/data/load.js';
import { Rng } from '../../src/util/rng.js';

function make(seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(40);
  for (let i = 0; i < 40; i++) x[i] = rng.float();
  const y = new Int32Array(10);
  for (let i = 0; i < 10; i++) y[i] = rng.int(3);
  return { x, y, n: 10, shape: [4], classes: 3, source: 'a' };
}

describe('datasetHash', () => {
  it('depends on content, shape and classes, not on the source name', () => {
    const a = make(1);
    const h = datasetHash(a);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(datasetHash({ ...a, source: 'elsewhere' }), h);
    assert.equal(datasetHash(make(1)), h);
    assert.notEqual(datasetHash(make(2)), h);
    assert.notEqual(datasetHash({ ...a, classes: 4 }), h);
    assert.notEqual(datasetHash(reshape(a, [2, 2])), h);
    const x = a.x.slice();
    x[17] = Math.fround(x[17] + 1e-6);
    assert.notEqual(datasetHash({ ...a, x }), h);
    const y = a.y.slice();
    y[3] = (y[3] + 1) % 3;
    assert.notEqual(datasetHash({ ...a, y }), h);
  });

  it('hashes only the view of a subarray', () => {
    const a = make(3);
    const big = new Float32Array(100);
    big.set(a.x, 30);
    assert.equal(datasetHash({ ...a, x: big.subarray(30, 70) }), datasetHash(a));
  });
});
