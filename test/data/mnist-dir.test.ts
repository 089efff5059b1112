import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadData } from '../../src/data/load.js';
import { loadMnistDir } from '../../src/data/mnist.js';
import { Rng } from '../../src/util/rng.js';
import { randomBytes, tempDir, throwsUsage, writeIdx, writeMiniMnist } from './helpers.js';

const root = tempDir('dk-mnistdir-');
after(root.cleanup);
let count = 0;
const fresh = () => {
  const d = join(root.dir, `d${count++}`);
  mkdirSync(d);
  return d;
};

describe('loadMnistDir', () => {
  for (const gzip of [false, true]) {
    it(`loads any image size and class count${gzip ? ' (gzip)' : ''}`, () => {
      const dir = fresh();
      const m = writeMiniMnist(dir, { rows: 5, cols: 7, classes: 3, gzip });
      const { train, test } = loadMnistDir(dir);
      assert.equal(train.n, 12);
      assert.equal(test.n, 5);
      assert.deepEqual(train.shape, [1, 5, 7]);
      assert.deepEqual(test.shape, [1, 5, 7]);
      assert.equal(train.classes, 3);
      assert.equal(test.classes, 3);
      assert.deepEqual(Array.from(train.y), Array.from(m.trainLabels));
      assert.deepEqual(Array.from(test.y), Array.from(m.testLabels));
      assert.equal(train.x.length, 12 * 35);
      for (let i = 0; i < train.x.length; i++) assert.equal(train.x[i], Math.fround(m.trainImages[i] / 255));
      for (let i = 0; i < test.x.length; i++) assert.equal(test.x[i], Math.fround(m.testImages[i] / 255));
      assert.equal(train.source, `${resolve(dir)}:train`);
    });
  }

  it('mixes plain and .gz files and reads them through loadData', () => {
    const dir = fresh();
    writeMiniMnist(dir, { classes: 4 });
    const plain = loadMnistDir(dir);
    const other = fresh();
    const m = writeMiniMnist(other, { classes: 4, gzip: true });
    renameSync(join(other, 'train-labels-idx1-ubyte.gz'), join(other, 'tmp.gz'));
    writeIdx(join(other, 'train-labels-idx1-ubyte'), [12], m.trainLabels);
    const mixed = loadData(other);
    assert.deepEqual(mixed.train.x, plain.train.x);
    assert.deepEqual(mixed.train.y, plain.train.y);
    assert.equal(mixed.train.classes, 4);
  });

  it('a single class still gives at least 2 classes', () => {
    const dir = fresh();
    writeMiniMnist(dir, { classes: 1 });
    assert.equal(loadMnistDir(dir).train.classes, 2);
  });

  it('class count is the largest label over both splits + 1', () => {
    const dir = fresh();
    writeMiniMnist(dir, { classes: 3 });
    writeIdx(join(dir, 't10k-labels-idx1-ubyte'), [5], [0, 1, 6, 2, 1]);
    assert.equal(loadMnistDir(dir).test.classes, 7);
    assert.equal(loadMnistDir(dir).train.classes, 7);
  });

  it('accepts labels stored as int16/int32 with values above 255', () => {
    const dir = fresh();
    writeMiniMnist(dir, { nTrain: 4, nTest: 2 });
    writeIdx(join(dir, 'train-labels-idx1-ubyte'), [4], [0, 300, 299, 1], 'int16');
    writeIdx(join(dir, 't10k-labels-idx1-ubyte'), [2], [5, 1000], 'int32');
    const { train, test } = loadMnistDir(dir);
    assert.deepEqual(Array.from(train.y), [0, 300, 299, 1]);
    assert.equal(test.classes, 1001);
  });

  it('accepts float32 images already in [0,1]', () => {
    const dir = fresh();
    writeMiniMnist(dir, { nTrain: 4, nTest: 2, rows: 2, cols: 2 });
    const rng = new Rng(9);
    const v = Array.from({ length: 16 }, () => Math.fround(rng.float()));
    writeIdx(join(dir, 'train-images-idx3-ubyte'), [4, 2, 2], v, 'float32');
    assert.deepEqual(Array.from(loadMnistDir(dir).train.x), v);
  });

  it('accepts the .idx spelling (train-images.idx3-ubyte)', () => {
    const dir = fresh();
    writeMiniMnist(dir);
    renameSync(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-images.idx3-ubyte'));
    assert.equal(loadMnistDir(dir).train.n, 12);
  });

  it('honours a declared class count', () => {
    const dir = fresh();
    writeMiniMnist(dir, { classes: 3 });
    assert.equal(loadMnistDir(dir, { classes: 10 }).train.classes, 10);
  });

  describe('bad directories throw a UsageError naming the file', () => {
    it('missing files are listed by the names looked for', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      renameSync(join(dir, 't10k-labels-idx1-ubyte'), join(dir, 'other'));
      throwsUsage(() => loadMnistDir(dir), dir, 't10k-labels-idx1-ubyte | t10k-labels-idx1-ubyte.gz');
    });
    it('an empty directory lists all four names', () => {
      const dir = fresh();
      throwsUsage(
        () => loadMnistDir(dir),
        'train-images-idx3-ubyte',
        'train-labels-idx1-ubyte',
        't10k-images-idx3-ubyte',
        't10k-labels-idx1-ubyte',
      );
    });
    it('image/label count mismatch', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 'train-labels-idx1-ubyte'), [11], randomBytes(11, new Rng(1), 3));
      throwsUsage(() => loadMnistDir(dir), p, '11 labels', '12 images');
    });
    it('test image/label count mismatch', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 't10k-labels-idx1-ubyte'), [6], randomBytes(6, new Rng(2), 3));
      throwsUsage(() => loadMnistDir(dir), p, '6 labels', '5 images');
    });
    it('train and test image sizes differ', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 't10k-images-idx3-ubyte'), [5, 7, 5], randomBytes(175, new Rng(3)));
      throwsUsage(() => loadMnistDir(dir), p, '7x5', '5x7');
    });
    it('images that are not 3-D', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 'train-images-idx3-ubyte'), [12, 35], randomBytes(420, new Rng(4)));
      throwsUsage(() => loadMnistDir(dir), p, '3-D', '2-D [12, 35]');
    });
    it('labels that are not 1-D', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 'train-labels-idx1-ubyte'), [12, 1], randomBytes(12, new Rng(5), 3));
      throwsUsage(() => loadMnistDir(dir), p, '1-D', '2-D');
    });
    it('labels and images swapped', () => {
      const dir = fresh();
      const m = writeMiniMnist(dir);
      writeIdx(join(dir, 'train-labels-idx1-ubyte'), [12, 5, 7], m.trainImages);
      const p = writeIdx(join(dir, 'train-images-idx3-ubyte'), [12], m.trainLabels);
      throwsUsage(() => loadMnistDir(dir), p, 'images must be 3-D');
    });
    it('no images', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = writeIdx(join(dir, 'train-images-idx3-ubyte'), [0, 5, 7], []);
      throwsUsage(() => loadMnistDir(dir), p, 'no images');
    });
    it('negative labels (int8)', () => {
      const dir = fresh();
      writeMiniMnist(dir, { nTrain: 3 });
      const p = writeIdx(join(dir, 'train-labels-idx1-ubyte'), [3], [0, -1, 2], 'int8');
      throwsUsage(() => loadMnistDir(dir), p, 'label -1 at index 1');
    });
    it('fractional float labels', () => {
      const dir = fresh();
      writeMiniMnist(dir, { nTrain: 3 });
      const p = writeIdx(join(dir, 'train-labels-idx1-ubyte'), [3], [0, 1.5, 2], 'float32');
      throwsUsage(() => loadMnistDir(dir), p, 'label 1.5');
    });
    it('labels out of range of a declared class count', () => {
      const dir = fresh();
      writeMiniMnist(dir, { classes: 3 });
      throwsUsage(() => loadMnistDir(dir, { classes: 2 }), 'train-labels-idx1-ubyte', 'label 2', '[0, 2)');
    });
    it('absurd labels (int32 pixel-like values)', () => {
      const dir = fresh();
      writeMiniMnist(dir, { nTrain: 2 });
      const p = writeIdx(join(dir, 'train-labels-idx1-ubyte'), [2], [1, 2_000_000], 'int32');
      throwsUsage(() => loadMnistDir(dir), p, 'label 2000000', 'below 65536');
    });
    it('float images outside [0,1]', () => {
      const dir = fresh();
      writeMiniMnist(dir, { nTrain: 1, rows: 1, cols: 2 });
      const p = writeIdx(join(dir, 'train-images-idx3-ubyte'), [1, 1, 2], [0.5, 17], 'float32');
      throwsUsage(() => loadMnistDir(dir), p, 'pixel value 17', '[0,1]');
    });
    it('int16 images are refused', () => {
      const dir = fresh();
      writeMiniMnist(dir, { nTrain: 1, rows: 1, cols: 2 });
      const p = writeIdx(join(dir, 'train-images-idx3-ubyte'), [1, 1, 2], [1, 2], 'int16');
      throwsUsage(() => loadMnistDir(dir), p, 'int16 pixels are not supported');
    });
    it('a truncated file inside the directory', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      const p = join(dir, 't10k-images-idx3-ubyte');
      writeFileSync(p, new Uint8Array([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 7, 1, 2, 3]));
      throwsUsage(() => loadMnistDir(dir), p, 'truncated', 'need 191 bytes', 'has 19');
    });
    it('an invalid declared class count', () => {
      const dir = fresh();
      writeMiniMnist(dir);
      throwsUsage(() => loadMnistDir(dir, { classes: 1 }), 'classes');
    });
  });
});

describe('loadData', () => {
  it('refuses a path that does not exist', () => {
    throwsUsage(() => loadData(join(root.dir, 'nope')), 'nope', "neither 'mnist' nor an existing directory");
  });
  it('refuses a file', () => {
    const p = join(root.dir, 'a-file');
    writeFileSync(p, 'x');
    throwsUsage(() => loadData(p), p, 'is a file');
  });
  it('refuses an empty spec', () => {
    throwsUsage(() => loadData(''), 'data');
  });
  it('a directory with only some MNIST files names the missing ones', () => {
    const dir = fresh();
    writeIdx(join(dir, 'train-labels-idx1-ubyte.gz'), [3], [0, 1, 2], 'uint8', true);
    throwsUsage(() => loadData(dir), dir, 'missing MNIST-style files', 'train-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
  });
  it('refuses a directory with no known layout, listing the names looked for', () => {
    const dir = fresh();
    throwsUsage(() => loadData(dir), dir, 'train-images-idx3-ubyte', 'x_train.npy', 'train.csv');
  });
  it('reshapes on request and refuses a shape of the wrong size', () => {
    const dir = fresh();
    writeMiniMnist(dir, { rows: 5, cols: 7 });
    assert.deepEqual(loadData(dir, { shape: [35] }).train.shape, [35]);
    throwsUsage(() => loadData(dir, { shape: [1, 6, 6] }), 'shape', '36', '35');
  });
});
