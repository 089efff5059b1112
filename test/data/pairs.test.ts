/**
 * The 100-class pairs task (src/data/pairs.ts) and `dk data mnist-pairs`: classes are
 * 10·left + right of the source digits, train pairs come from MNIST's training images and test
 * pairs from its test images, every class is present, the bytes depend only on the seed (also
 * across processes), the directory loads as --data, and bad input exits 2 leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadData } from '../../src/data/load.js';
import { MNIST_FILES } from '../../src/data/mnist.js';
import { type DigitImages, type PairSplit, PAIR_CLASSES, makePairs, mnistDigits, mnistPairs, pairClassNames } from '../../src/data/pairs.js';
import { Rng } from '../../src/util/rng.js';
import { dk, tempDir } from '../cli/helpers.js';

const { dir: root, cleanup } = tempDir('dk-pairs-');
after(cleanup);

/** Every pair's label is 10·(left digit) + (right digit), and its two halves are those source images. */
function checkAgainstSource(p: PairSplit, src: DigitImages, rows: number[]): void {
  const { rows: R, cols: W } = src;
  for (const e of rows) {
    const a = p.left[e];
    const b = p.right[e];
    assert.equal(p.labels[e], 10 * src.labels[a] + src.labels[b], `pair ${e}: label ${p.labels[e]}, sources ${a} (digit ${src.labels[a]}) and ${b} (digit ${src.labels[b]})`);
    for (let r = 0; r < R; r++) {
      const row = p.images.subarray((e * R + r) * 2 * W, (e * R + r + 1) * 2 * W);
      assert.deepEqual(row.subarray(0, W), src.images.subarray((a * R + r) * W, (a * R + r + 1) * W), `pair ${e}, row ${r}, left half`);
      assert.deepEqual(row.subarray(W), src.images.subarray((b * R + r) * W, (b * R + r + 1) * W), `pair ${e}, row ${r}, right half`);
    }
  }
}

function classCounts(labels: ArrayLike<number>): number[] {
  const n = new Array<number>(PAIR_CLASSES).fill(0);
  for (let i = 0; i < labels.length; i++) n[labels[i]]++;
  return n;
}

describe('mnistPairs', () => {
  const { train, test } = mnistPairs({ train: 1234, test: 300, seed: 5 });
  const srcTrain = mnistDigits('train');
  const srcTest = mnistDigits('test');

  it('28×56 images; class = 10·left + right, each half the source image (train pairs from the training images, test pairs from the test images)', () => {
    assert.equal(train.rows, 28);
    assert.equal(train.cols, 56);
    assert.equal(train.images.length, 1234 * 28 * 56);
    const some = [0, 1, 2, 617, 1233];
    checkAgainstSource(train, srcTrain, some);
    checkAgainstSource(test, srcTest, [0, 150, 299]);
    // The test pairs are not made of training images: the same indices in the other split give other pixels.
    assert.throws(() => checkAgainstSource(test, srcTrain, [0]));
    checkAgainstSource(train, srcTrain, Array.from({ length: train.n }, (_, i) => i));
    checkAgainstSource(test, srcTest, Array.from({ length: test.n }, (_, i) => i));
  });

  it('every class present, balanced (⌊n/100⌋ or one more each), order shuffled', () => {
    for (const p of [train, test]) {
      const c = classCounts(p.labels);
      const base = Math.floor(p.n / 100);
      assert.ok(c.every((k) => k === base || k === base + 1), JSON.stringify(c));
      assert.equal(c.filter((k) => k === base + 1).length, p.n % 100);
    }
    assert.notDeepEqual(Array.from(train.labels.subarray(0, 12)), Array.from(train.labels.subarray(0, 12)).sort((a, b) => a - b));
  });

  it('the same seed gives the same bytes; another seed other bytes', () => {
    const again = mnistPairs({ train: 1234, test: 300, seed: 5 });
    assert.ok(Buffer.from(again.train.images).equals(Buffer.from(train.images)));
    assert.ok(Buffer.from(again.test.labels).equals(Buffer.from(test.labels)));
    const other = mnistPairs({ train: 1234, test: 300, seed: 6 });
    assert.ok(!Buffer.from(other.train.images).equals(Buffer.from(train.images)));
  });

  it('source images are used evenly (each digit cycled through a shuffled order)', () => {
    // A small source: 3 images per digit; 1000 pairs use each image 1000·2/30 ≈ 66.7 times.
    const rows = 2;
    const cols = 3;
    const labels = Array.from({ length: 30 }, (_, i) => i % 10);
    const images = Uint8Array.from({ length: 30 * rows * cols }, (_, i) => Math.floor(i / (rows * cols)));
    const p = makePairs({ images, labels, n: 30, rows, cols }, 1000, new Rng(1));
    const uses = new Array<number>(30).fill(0);
    for (let e = 0; e < p.n; e++) {
      uses[p.left[e]]++;
      uses[p.right[e]]++;
    }
    // Each digit appears 200 times (100 classes have it left, 100 right … 10·10·2 per digit = 200); split over 3 images: 66 or 67 (+1 at a reshuffle boundary).
    for (let d = 0; d < 10; d++) {
      const u = [d, d + 10, d + 20].map((i) => uses[i]);
      assert.equal(u[0] + u[1] + u[2], 200);
      assert.ok(Math.max(...u) - Math.min(...u) <= 2, `digit ${d}: ${u}`);
    }
    checkAgainstSource(p, { images, labels, n: 30, rows, cols }, Array.from({ length: p.n }, (_, i) => i));
  });

  it('bad calls are RangeErrors naming the parameter', () => {
    assert.throws(() => mnistPairs({ train: 99 }), /train must be an integer in \[100, 1000000\]/);
    assert.throws(() => mnistPairs({ test: 100.5 }), /test must be an integer/);
    assert.throws(() => mnistPairs({ seed: -1 }), /seed must be a non-negative integer/);
    assert.equal(pairClassNames()[7], '07');
    assert.equal(pairClassNames()[99], '99');
  });
});

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('dk data mnist-pairs', () => {
  it('two processes with the same seed write identical files; the directory loads as --data with 100 classes; another seed differs', () => {
    const hashes: string[][] = [];
    for (const [name, seed] of [['a', '3'], ['b', '3'], ['c', '4']]) {
      const r = dk(['data', 'mnist-pairs', '--out', name, '--train', '500', '--test', '200', '--seed', seed], root);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /500 training and 200 test pairs, 28×56, 100 classes/);
      assert.deepEqual(readdirSync(join(root, name)).sort(), Object.values(MNIST_FILES).sort());
      hashes.push(Object.values(MNIST_FILES).map((f) => sha(join(root, name, f))));
    }
    assert.deepEqual(hashes[0], hashes[1]);
    assert.notEqual(hashes[0][0], hashes[2][0]);
    const { train, test } = loadData(join(root, 'a'));
    assert.deepEqual(train.shape, [1, 28, 56]);
    assert.equal(train.classes, 100);
    assert.equal(train.n, 500);
    assert.equal(test.n, 200);
    assert.ok(classCounts(train.y).every((k) => k === 5));
    assert.ok(classCounts(test.y).every((k) => k === 2));
    // The CLI writes exactly the library's pairs for that seed.
    const lib = mnistPairs({ train: 500, test: 200, seed: 3 });
    assert.deepEqual(Array.from(train.y), Array.from(lib.train.labels));
    for (let i = 0; i < 28 * 56 * 3; i++) assert.equal(train.x[i], Math.fround(lib.train.images[i] / 255));
    // No temporary directory left beside the output.
    assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('.')), []);
  });

  it('--force replaces a non-empty directory', () => {
    const d = join(root, 'forced');
    mkdirSync(d);
    writeFileSync(join(d, 'old.txt'), 'x');
    const r = dk(['data', 'mnist-pairs', '--out', d, '--train', '100', '--test', '100', '--force'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(d).sort(), Object.values(MNIST_FILES).sort());
  });

  const bad: [string, string[], string[]][] = [
    ['--out is a file', ['--out', 'afile'], ['--out afile', 'is a file']],
    ['--out is not empty (no --force)', ['--out', 'full'], ['--out full', 'not empty', '--force']],
    ["--out's parent does not exist", ['--out', 'no/such/dir'], ['--out no/such/dir', 'parent directory']],
    ['--train below 100', ['--out', 'o', '--train', '99'], ['--train', '≥ 100']],
    ['--train not an integer', ['--out', 'o', '--train', '1e3.5'], ['--train', 'integer']],
    ['--train above the limit', ['--out', 'o', '--train', '1000001'], ['--train', '≤ 1000000']],
    ['--test zero', ['--out', 'o', '--test', '0'], ['--test', '≥ 100']],
    ['--test a word', ['--out', 'o', '--test', 'many'], ['--test', 'integer']],
    ['--seed negative', ['--out', 'o', '--seed', '-1'], ['--seed']],
    ['no --out', [], ['--out']],
  ];
  for (const [what, args, names] of bad) {
    it(`${what}: exit 2, one line naming it, nothing written`, () => {
      const cwd = join(root, `bad-${what.replace(/\W+/g, '-')}`);
      mkdirSync(cwd);
      writeFileSync(join(cwd, 'afile'), 'keep');
      mkdirSync(join(cwd, 'full'));
      writeFileSync(join(cwd, 'full', 'keep.txt'), 'keep');
      const r = dk(['data', 'mnist-pairs', ...args], cwd);
      assert.equal(r.status, 2, `${r.status}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.ok(lines.length <= 2, r.stderr); // commander adds its "(run with --help for usage)" line to its own errors
      for (const n of names) assert.ok(lines[0].includes(n), `does not name ${n}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.deepEqual(readdirSync(cwd).sort(), ['afile', 'full']);
      assert.deepEqual(readdirSync(join(cwd, 'full')), ['keep.txt']);
      assert.equal(readFileSync(join(cwd, 'afile'), 'utf8'), 'keep');
      assert.ok(!existsSync(join(cwd, 'o')));
    });
  }
});
