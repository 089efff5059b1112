/**
 * A 100-class task made from MNIST (the kind of many-class dataset the paper's specialists are
 * for): two digits side by side, a 28×56 image, class = 10·left + right ("00".."99").
 *
 * Pairs are drawn from one MNIST split at a time — the training pairs from MNIST's training
 * images, the test pairs from its test images, never mixed. The classes are balanced: each of
 * the 100 classes gets ⌊n/100⌋ examples and n mod 100 classes (drawn at random) one more, so
 * every class is present when n ≥ 100; the order is shuffled. Each side's image is taken from
 * its digit's images in a shuffled order, reshuffled when used up, so every source image is
 * used about as often as any other of its digit. All draws come from one generator seeded by
 * (seed, split) (src/util/rng.ts): the same seed gives the same bytes in any process.
 */
import { Rng } from '../util/rng.js';
import { checkOutDir, writeDirAtomic } from '../util/out-dir.js';
import { encodeIdx, readIdx } from './idx.js';
import { MNIST_FILES, builtinMnistDir, findIdxFile } from './mnist.js';

/** Digits per side: the class of a pair is DIGITS · left + right. */
export const DIGITS = 10;
export const PAIR_CLASSES = DIGITS * DIGITS;
/** Default sizes: MNIST's own (60,000 training, 10,000 test pairs). */
export const PAIRS_DEFAULTS = { train: 60_000, test: 10_000, seed: 1 } as const;
/** The smallest split (every class present) and the largest (≈1.6 GB of pixels). */
export const PAIRS_MIN = PAIR_CLASSES;
export const PAIRS_MAX = 1_000_000;

/** The class names of the pairs task, label k named `String(k).padStart(2, '0')`. */
export function pairClassNames(): string[] {
  return Array.from({ length: PAIR_CLASSES }, (_, k) => String(k).padStart(2, '0'));
}

/** Single-digit images of one split: n images of rows×cols bytes, labels 0..9. */
export interface DigitImages {
  images: Uint8Array;
  labels: ArrayLike<number>;
  n: number;
  rows: number;
  cols: number;
}

/** n pairs: images n × rows × 2·cols bytes, labels 10·left + right, and the source image of each side. */
export interface PairSplit {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  rows: number;
  cols: number;
  /** Index in the source split of each pair's left / right image. */
  left: Int32Array;
  right: Int32Array;
}

function checkCount(n: number, name: string): void {
  if (!Number.isInteger(n) || n < PAIRS_MIN || n > PAIRS_MAX) {
    throw new RangeError(`mnistPairs: ${name} must be an integer in [${PAIRS_MIN}, ${PAIRS_MAX}] (every one of the ${PAIR_CLASSES} classes present), got ${n}`);
  }
}

/** n balanced pairs from `src` (see the top of this file), all draws from `rng`. */
export function makePairs(src: DigitImages, n: number, rng: Rng): PairSplit {
  checkCount(n, 'n');
  const { rows, cols } = src;
  const px = rows * cols;
  if (src.images.length !== src.n * px) throw new RangeError(`makePairs: images hold ${src.images.length} bytes, expected n × rows × cols = ${src.n * px}`);
  const byDigit: number[][] = Array.from({ length: DIGITS }, () => []);
  for (let i = 0; i < src.n; i++) {
    const d = src.labels[i];
    if (!(Number.isInteger(d) && d >= 0 && d < DIGITS)) throw new RangeError(`makePairs: source label ${d} at ${i}; expected a digit 0..9`);
    byDigit[d].push(i);
  }
  for (let d = 0; d < DIGITS; d++) if (byDigit[d].length === 0) throw new RangeError(`makePairs: the source has no image of digit ${d}`);

  // Balanced labels: ⌊n/100⌋ of each class, n mod 100 distinct classes one more; shuffled.
  const labels = new Uint8Array(n);
  const base = Math.floor(n / PAIR_CLASSES);
  let k = 0;
  for (let c = 0; c < PAIR_CLASSES; c++) for (let j = 0; j < base; j++) labels[k++] = c;
  const extra = rng.permutation(PAIR_CLASSES);
  for (let j = 0; k < n; j++) labels[k++] = extra[j];
  rng.shuffle(labels);

  // Each digit's images in a shuffled order, reshuffled when used up.
  const order = byDigit.map((ids) => rng.shuffle(Int32Array.from(ids)));
  const cursor = new Int32Array(DIGITS);
  const next = (d: number): number => {
    if (cursor[d] === order[d].length) {
      rng.shuffle(order[d]);
      cursor[d] = 0;
    }
    return order[d][cursor[d]++];
  };

  const wide = 2 * cols;
  const images = new Uint8Array(n * rows * wide);
  const left = new Int32Array(n);
  const right = new Int32Array(n);
  for (let e = 0; e < n; e++) {
    const c = labels[e];
    const a = (left[e] = next(Math.floor(c / DIGITS)));
    const b = (right[e] = next(c % DIGITS));
    const out = e * rows * wide;
    for (let r = 0; r < rows; r++) {
      images.set(src.images.subarray(a * px + r * cols, a * px + (r + 1) * cols), out + r * wide);
      images.set(src.images.subarray(b * px + r * cols, b * px + (r + 1) * cols), out + r * wide + cols);
    }
  }
  return { images, labels, n, rows, cols: wide, left, right };
}

/** The built-in MNIST's raw bytes (uint8 pixels, as in the IDX files) for one split. */
export function mnistDigits(split: 'train' | 'test'): DigitImages {
  const dir = builtinMnistDir();
  const [img, lab] = split === 'train' ? [MNIST_FILES.trainImages, MNIST_FILES.trainLabels] : [MNIST_FILES.testImages, MNIST_FILES.testLabels];
  const find = (base: string): string => {
    const p = findIdxFile(dir, base);
    if (p === null) throw new RangeError(`built-in MNIST: ${base} not found in ${dir}`);
    return p;
  };
  const x = readIdx(find(img));
  const y = readIdx(find(lab));
  if (x.type !== 'uint8' || x.dims.length !== 3 || y.dims[0] !== x.dims[0]) throw new RangeError(`built-in MNIST: unexpected ${split} files in ${dir}`);
  return { images: x.data as Uint8Array, labels: y.data, n: x.dims[0], rows: x.dims[1], cols: x.dims[2] };
}

export interface MnistPairsOptions {
  /** Training pairs (from MNIST's training images); default 60,000. */
  train?: number;
  /** Test pairs (from MNIST's test images); default 10,000. */
  test?: number;
  /** Seed of the draws; default 1. */
  seed?: number;
}

/** The pairs task's two splits from the built-in MNIST (see the top of this file). */
export function mnistPairs(o: MnistPairsOptions = {}): { train: PairSplit; test: PairSplit } {
  const nTrain = o.train ?? PAIRS_DEFAULTS.train;
  const nTest = o.test ?? PAIRS_DEFAULTS.test;
  const seed = o.seed ?? PAIRS_DEFAULTS.seed;
  checkCount(nTrain, 'train');
  checkCount(nTest, 'test');
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`mnistPairs: seed must be a non-negative integer, got ${seed}`);
  return {
    train: makePairs(mnistDigits('train'), nTrain, Rng.derive(seed, 'mnist-pairs:train')),
    test: makePairs(mnistDigits('test'), nTest, Rng.derive(seed, 'mnist-pairs:test')),
  };
}

export interface WrittenPairs {
  dir: string;
  train: number;
  test: number;
  files: string[];
}

/**
 * Write the pairs task as an MNIST-style IDX directory (the four file names `--data DIR`
 * reads: images [n, 28, 56] uint8, labels [n] uint8 0..99). The directory is written whole or
 * not at all: the files go into a temporary directory beside it, renamed into place at the end.
 * `dir` must not exist or be empty, unless `force` (then it is replaced).
 */
export function writeMnistPairs(dir: string, o: MnistPairsOptions & { force?: boolean } = {}): WrittenPairs {
  const target = checkOutDir(dir, o.force ?? false);
  const { train, test } = mnistPairs(o);
  const files: [string, Uint8Array][] = [
    [MNIST_FILES.trainImages, encodeIdx([train.n, train.rows, train.cols], train.images)],
    [MNIST_FILES.trainLabels, encodeIdx([train.n], train.labels)],
    [MNIST_FILES.testImages, encodeIdx([test.n, test.rows, test.cols], test.images)],
    [MNIST_FILES.testLabels, encodeIdx([test.n], test.labels)],
  ];
  writeDirAtomic(target, files.map(([name, data]) => ({ name, data })), o.force ?? false);
  return { dir: target, train: train.n, test: test.n, files: files.map(([n]) => n) };
}
