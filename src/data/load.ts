/**
 * `--data` resolution: 'mnist' is the built-in MNIST; a directory is read in whichever layout
 * it holds — MNIST-style IDX files, NPY files (Keras names), CSV files, or an image-folder tree
 * (train/<class>/*, test/<class>/*; images.ts). Image folders are decoded asynchronously, so
 * they need `openData`; `loadData` reads the other forms synchronously.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { checkClassesOption, inferClasses, toLabels, toUnitFloat } from './convert.js';
import { readCsv, scaleCsvFeatures } from './csv.js';
import { featureSize, type DataSplit, type Dataset } from './dataset.js';
import { type ImageOptions, isFlatImageDir, isImageTree, loadImageTree, loadUnlabeledImages } from './images.js';
import { isMnistDir, loadBuiltinMnist, loadMnistDir, MNIST_FILES, type LoadOptions } from './mnist.js';
import { readNpy, type NpyArray } from './npy.js';

export interface DataOptions extends LoadOptions {
  /**
   * Per-example shape to give the data (e.g. [1,28,28] for a flat 784-feature CSV); its
   * product must equal the feature count.
   */
  shape?: number[];
}

/** File names of an NPY directory (the names Keras' mnist.npz uses), each optionally `.gz`. */
export const NPY_FILES = { xTrain: 'x_train.npy', yTrain: 'y_train.npy', xTest: 'x_test.npy', yTest: 'y_test.npy' } as const;
/** File names of a CSV directory, each optionally `.gz`. */
export const CSV_FILES = { train: 'train.csv', test: 'test.csv' } as const;

function find(dir: string, name: string): string | null {
  for (const n of [name, `${name}.gz`]) if (existsSync(join(dir, n))) return join(dir, n);
  return null;
}

function findAll<K extends string>(dir: string, names: Record<K, string>): Record<K, string> | null {
  const out = {} as Record<K, string>;
  const missing: string[] = [];
  for (const k of Object.keys(names) as K[]) {
    const p = find(dir, names[k]);
    if (p) out[k] = p;
    else missing.push(names[k]);
  }
  if (missing.length === Object.keys(names).length) return null;
  if (missing.length > 0) throw new UsageError(`${dir}: incomplete data directory: missing ${missing.join(', ')} (each may end in .gz)`);
  return out;
}

/**
 * Load a dataset: `'mnist'` for the built-in MNIST, or a directory holding
 * (a) `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`;
 * (b) `x_train.npy`, `y_train.npy`, `x_test.npy`, `y_test.npy`; or (c) `train.csv`, `test.csv`
 * (any of them may be gzipped).
 */
export function loadData(spec: string, opts: DataOptions = {}): DataSplit {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new UsageError(`data: expected 'mnist' or a directory, got ${JSON.stringify(spec)}`);
  }
  checkClassesOption(opts.classes);
  let split: DataSplit;
  if (spec === 'mnist') {
    if (opts.classes !== undefined && opts.classes !== 10) {
      throw new UsageError(`classes: the built-in MNIST has 10 classes, got ${opts.classes}`);
    }
    split = loadBuiltinMnist();
  } else {
    if (!existsSync(spec)) throw new UsageError(`data: '${spec}' is neither 'mnist' nor an existing directory`);
    if (!statSync(spec).isDirectory()) {
      throw new UsageError(`data: '${spec}' is a file; expected 'mnist' or a directory of MNIST-style IDX, NPY or CSV files`);
    }
    split = loadDir(spec, opts);
  }
  return opts.shape ? { train: reshape(split.train, opts.shape), test: reshape(split.test, opts.shape) } : split;
}

function loadDir(dir: string, opts: LoadOptions): DataSplit {
  if (isMnistDir(dir)) return loadMnistDir(dir, opts);
  const npy = findAll(dir, NPY_FILES);
  if (npy) return loadNpyDir(dir, npy, opts);
  const csv = findAll(dir, CSV_FILES);
  if (csv) return loadCsvDir(dir, csv, opts);
  if (isImageTree(dir)) throw new UsageError(`${dir}: an image folder; image folders are decoded asynchronously: load it with openData()`);
  throw new UsageError(
    `${dir}: no dataset found; looked for ${Object.values(MNIST_FILES).join(', ')} (IDX), ` +
      `${Object.values(NPY_FILES).join(', ')} (NPY), ${Object.values(CSV_FILES).join(', ')} (CSV), each optionally .gz, ` +
      `or image folders train/<class>/ and test/<class>/ (PNG, JPEG, WebP)`,
  );
}

/** True when `spec` names an image-folder tree (a directory with train/ and no IDX, NPY or CSV files). */
export function isImageData(spec: string): boolean {
  if (spec === 'mnist' || !existsSync(spec) || !statSync(spec).isDirectory()) return false;
  return !isMnistDir(spec) && !findAll(spec, NPY_FILES) && !findAll(spec, CSV_FILES) && isImageTree(spec);
}

export interface OpenDataOptions extends DataOptions, ImageOptions {}

/**
 * Load a dataset in any `loadData` form, or an image-folder tree (decoded with sharp, cached;
 * `ImageOptions` apply to image folders only).
 */
export async function openData(spec: string, opts: OpenDataOptions = {}): Promise<DataSplit> {
  if (typeof spec === 'string' && isImageData(spec)) {
    checkClassesOption(opts.classes);
    const split = await loadImageTree(spec, opts);
    if (opts.classes !== undefined && opts.classes !== split.train.classes) {
      throw new UsageError(`classes: ${spec} has ${split.train.classes} class folders, got classes ${opts.classes}`);
    }
    return opts.shape ? { train: reshape(split.train, opts.shape), test: reshape(split.test, opts.shape) } : split;
  }
  return loadData(spec, opts);
}

export interface TransferData {
  data: Dataset;
  /** False for a folder of images without labels. */
  labeled: boolean;
}

/**
 * A transfer set given apart from the data: a folder of images without labels (decoded to the
 * shape of `train`), or any dataset `openData` reads (its training split, with labels; its
 * shape and classes must match `train`'s).
 */
export async function openTransfer(spec: string, train: Dataset, opts: OpenDataOptions = {}): Promise<TransferData> {
  if (typeof spec !== 'string' || spec.trim() === '') throw new UsageError({ param: 'transferData', detail: `expected a directory, got ${JSON.stringify(spec)}` });
  if (spec !== 'mnist' && !existsSync(spec)) throw new UsageError({ param: 'transferData', value: `'${spec}'`, detail: 'does not exist; expected a folder of images or a dataset directory' });
  if (spec !== 'mnist' && statSync(spec).isDirectory() && !isImageData(spec) && isFlatImageDir(spec)) {
    const data = await loadUnlabeledImages(spec, train, opts);
    return { data, labeled: false };
  }
  const t = (await openData(spec, opts)).train;
  if (t.shape.join('x') !== train.shape.join('x')) {
    throw new UsageError({ param: 'transferData', value: spec, detail: `has examples of shape [${t.shape}], but the data's are [${train.shape}]; shapes must match` });
  }
  if (t.classes !== train.classes) throw new UsageError({ param: 'transferData', value: spec, detail: `has ${t.classes} classes, but the data has ${train.classes}; classes must match` });
  // Labels line up only when both name their classes the same way (or neither names them).
  const names = (d: Dataset) => (d.classNames ? d.classNames.join(', ') : null);
  if (names(t) !== names(train)) {
    const say = (d: Dataset) => (d.classNames ? `classes ${names(d)}` : 'unnamed classes (label numbers)');
    throw new UsageError({ param: 'transferData', value: spec, detail: `has ${say(t)}, but the data has ${say(train)}; the labels would not line up (a folder of images without class folders is an unlabeled transfer set)` });
  }
  return { data: t, labeled: true };
}

function npyImageShape(a: NpyArray, file: string): number[] {
  const s = a.shape;
  if (s.length === 2) return [s[1]];
  if (s.length === 3) return [1, s[1], s[2]];
  if (s.length === 4) return [s[1], s[2], s[3]];
  throw new UsageError(`${file}: images must be [n, D], [n, H, W] or [n, C, H, W], got shape (${s.join(', ')})`);
}

function loadNpyDir(dir: string, files: Record<keyof typeof NPY_FILES, string>, opts: LoadOptions): DataSplit {
  const part = (xf: string, yf: string, split: string) => {
    const xa = readNpy(xf);
    const shape = npyImageShape(xa, xf);
    if (xa.shape[0] === 0) throw new UsageError(`${xf}: holds no examples, expected at least 1`);
    const ya = readNpy(yf);
    const ok = ya.shape.length === 1 || (ya.shape.length === 2 && ya.shape[1] === 1);
    if (!ok) throw new UsageError(`${yf}: labels must have shape (n,) or (n, 1), got (${ya.shape.join(', ')})`);
    if (ya.shape[0] !== xa.shape[0]) {
      throw new UsageError(`${yf}: ${ya.shape[0]} labels, but ${xf} holds ${xa.shape[0]} examples; counts must match`);
    }
    return { xa, ya, shape, xf, yf, split };
  };
  const tr = part(files.xTrain, files.yTrain, 'train');
  const te = part(files.xTest, files.yTest, 'test');
  if (tr.shape.join('x') !== te.shape.join('x')) {
    throw new UsageError(`${te.xf}: examples have shape [${te.shape}], but ${tr.xf} has [${tr.shape}]; shapes must match`);
  }
  const ltr = toLabels(tr.ya.data, tr.yf, opts.classes);
  const lte = toLabels(te.ya.data, te.yf, opts.classes);
  const classes = inferClasses(Math.max(ltr.max, lte.max), opts.classes);
  const src = resolve(dir);
  const make = (p: typeof tr, y: Int32Array): Dataset => ({
    x: toUnitFloat(p.xa.data, p.xf),
    y,
    n: y.length,
    shape: [...p.shape],
    classes,
    source: `${src}:${p.split}`,
  });
  return { train: make(tr, ltr.y), test: make(te, lte.y) };
}

function loadCsvDir(dir: string, files: Record<keyof typeof CSV_FILES, string>, opts: LoadOptions): DataSplit {
  const tr = readCsv(files.train);
  const te = readCsv(files.test);
  if (tr.d !== te.d) throw new UsageError(`${files.test}: ${te.d} features per row, but ${files.train} has ${tr.d}; counts must match`);
  scaleCsvFeatures([
    { table: tr, name: files.train },
    { table: te, name: files.test },
  ]);
  const ltr = toLabels(tr.labels, files.train, opts.classes);
  const lte = toLabels(te.labels, files.test, opts.classes);
  const classes = inferClasses(Math.max(ltr.max, lte.max), opts.classes);
  const src = resolve(dir);
  return {
    train: { x: tr.features, y: ltr.y, n: tr.n, shape: [tr.d], classes, source: `${src}:train` },
    test: { x: te.features, y: lte.y, n: te.n, shape: [te.d], classes, source: `${src}:test` },
  };
}

/** The same examples with another per-example shape (no copy); the element count must match. */
export function reshape(ds: Dataset, shape: readonly number[]): Dataset {
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new UsageError(`shape: expected positive integers like [1,28,28], got ${JSON.stringify(shape)}`);
  }
  const want = featureSize(ds);
  const got = shape.reduce((a, b) => a * b, 1);
  if (got !== want) {
    throw new UsageError(`shape: [${shape.join(',')}] has ${got} elements, but ${ds.source} examples have ${want} ([${ds.shape.join(',')}])`);
  }
  return { ...ds, shape: [...shape] };
}
