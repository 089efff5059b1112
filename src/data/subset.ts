/**
 * Transfer-set control (Hinton et al. 2015, sections 3 and 4): leave classes out, keep only
 * some classes, take a stratified fraction of the data, and split off a stratified held-out
 * set (to pick bias offsets without touching the test set). Index-returning helpers give
 * sorted Int32Arrays of row numbers; `subset` turns them into a Dataset.
 */
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { featureSize, type Dataset } from './dataset.js';

/** Number of examples of each class. */
export function classCounts(ds: Dataset): Int32Array {
  const counts = new Int32Array(ds.classes);
  for (let i = 0; i < ds.n; i++) counts[ds.y[i]]++;
  return counts;
}

function classMask(ds: Dataset, classes: readonly number[], param: string): Uint8Array {
  if (!Array.isArray(classes)) throw new UsageError(`${param}: expected an array of class ids, got ${typeof classes}`);
  const mask = new Uint8Array(ds.classes);
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= ds.classes) {
      throw new UsageError(`${param}: class id ${c} is out of range; ${ds.source} has classes 0..${ds.classes - 1}`);
    }
    mask[c] = 1;
  }
  return mask;
}

function select(ds: Dataset, mask: Uint8Array, want: number): Int32Array {
  let m = 0;
  for (let i = 0; i < ds.n; i++) if (mask[ds.y[i]] === want) m++;
  const out = new Int32Array(m);
  for (let i = 0, j = 0; i < ds.n; i++) if (mask[ds.y[i]] === want) out[j++] = i;
  return out;
}

/** Indices of the examples whose label is NOT in `classes` (e.g. `--omit-classes 3`). */
export function omitClasses(ds: Dataset, classes: readonly number[]): Int32Array {
  const kept = select(ds, classMask(ds, classes, 'omitClasses'), 0);
  if (kept.length === 0) {
    throw new UsageError(`omitClasses: omitting classes [${classes.join(',')}] leaves no examples in ${ds.source}`);
  }
  return kept;
}

/** Indices of the examples whose label IS in `classes` (e.g. only 7s and 8s). */
export function keepClasses(ds: Dataset, classes: readonly number[]): Int32Array {
  const mask = classMask(ds, classes, 'keepClasses');
  if (classes.length === 0) throw new UsageError('keepClasses: expected at least one class id, got []');
  const kept = select(ds, mask, 1);
  if (kept.length === 0) {
    throw new UsageError(`keepClasses: ${ds.source} has no examples of classes [${classes.join(',')}]`);
  }
  return kept;
}

/** Row indices grouped by class, ascending within each class. */
function byClass(ds: Dataset): Int32Array[] {
  const counts = classCounts(ds);
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(ds.classes);
  for (let i = 0; i < ds.n; i++) {
    const c = ds.y[i];
    groups[c][fill[c]++] = i;
  }
  return groups;
}

/**
 * Split `total` over classes in proportion to `counts` by the largest-remainder method
 * (ties to the lower class id), so the parts sum to `total` exactly.
 */
function allocate(counts: Int32Array, total: number): Int32Array {
  let n = 0;
  for (const c of counts) n += c;
  const out = new Int32Array(counts.length);
  if (n === 0) return out;
  const rem: [number, number][] = [];
  let given = 0;
  for (let c = 0; c < counts.length; c++) {
    const q = (total * counts[c]) / n;
    out[c] = Math.floor(q);
    given += out[c];
    if (counts[c] > out[c]) rem.push([q - out[c], c]);
  }
  rem.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let i = 0; given < total && i < rem.length; i++, given++) out[rem[i][1]]++;
  return out;
}

/** Draw `m` of `group`'s entries (partial Fisher–Yates on a copy), into `out` from `at`. */
function draw(group: Int32Array, m: number, rng: Rng, out: Int32Array, at: number): void {
  const a = group.slice();
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
    out[at + i] = a[i];
  }
}

function sample(ds: Dataset, per: Int32Array, rng: Rng): Int32Array {
  const groups = byClass(ds);
  let total = 0;
  for (const m of per) total += m;
  const out = new Int32Array(total);
  let at = 0;
  for (let c = 0; c < groups.length; c++) {
    draw(groups[c], per[c], rng, out, at);
    at += per[c];
  }
  return out.sort();
}

function checkFraction(fraction: number, param: string): void {
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
    throw new UsageError(`${param}: fraction must be a number in (0, 1], got ${fraction}`);
  }
}

/**
 * A stratified, seeded sample of about `fraction` of the examples (e.g. `--fraction 0.03`):
 * each class contributes its proportional share (largest-remainder rounding, so the total is
 * round(fraction·n)), and at least one example of every class present. Sorted indices.
 */
export function stratifiedFraction(ds: Dataset, fraction: number, rng: Rng): Int32Array {
  checkFraction(fraction, 'stratifiedFraction');
  const counts = classCounts(ds);
  const per = allocate(counts, Math.round(fraction * ds.n));
  for (let c = 0; c < per.length; c++) if (counts[c] > 0 && per[c] === 0) per[c] = 1;
  return sample(ds, per, rng);
}

/**
 * Copy the given rows into a new Dataset. The result's `ids` map each row back to the
 * example id in the originally loaded dataset (composing with `ds.ids`).
 */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const d = featureSize(ds);
  const m = indices.length;
  const x = new Float32Array(m * d);
  const y = new Int32Array(m);
  const ids = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const r = indices[i];
    if (!Number.isInteger(r) || r < 0 || r >= ds.n) {
      throw new RangeError(`subset: indices[${i}] = ${r} is out of range [0, ${ds.n}) for ${ds.source}`);
    }
    x.set(ds.x.subarray(r * d, r * d + d), i * d);
    y[i] = ds.y[r];
    ids[i] = ds.ids ? ds.ids[r] : r;
  }
  const out: Dataset = { x, y, n: m, shape: [...ds.shape], classes: ds.classes, source: ds.source, ids };
  if (ds.classNames) out.classNames = [...ds.classNames];
  return out;
}

export interface HoldoutSplit {
  train: Dataset;
  holdout: Dataset;
  trainIndices: Int32Array;
  holdoutIndices: Int32Array;
}

/**
 * Split off a stratified, seeded held-out set: `amount` in (0,1) is a fraction of the
 * examples, an integer ≥ 1 a count (at least one example stays in train). Class proportions
 * are kept by largest-remainder rounding.
 */
export function splitHoldout(ds: Dataset, amount: number, rng: Rng): HoldoutSplit {
  let count: number;
  if (typeof amount === 'number' && amount > 0 && amount < 1) count = Math.round(amount * ds.n);
  else if (Number.isInteger(amount) && amount >= 1) count = amount;
  else throw new UsageError(`splitHoldout: amount must be a fraction in (0,1) or a count ≥ 1, got ${amount}`);
  if (count >= ds.n) {
    throw new UsageError(`splitHoldout: holding out ${count} of ${ds.n} examples of ${ds.source} leaves none to train on`);
  }
  if (count === 0) throw new UsageError(`splitHoldout: fraction ${amount} of ${ds.n} examples holds out none`);
  const holdoutIndices = sample(ds, allocate(classCounts(ds), count), rng);
  const taken = new Uint8Array(ds.n);
  for (const i of holdoutIndices) taken[i] = 1;
  const trainIndices = new Int32Array(ds.n - count);
  for (let i = 0, j = 0; i < ds.n; i++) if (!taken[i]) trainIndices[j++] = i;
  return {
    train: subset(ds, trainIndices),
    holdout: subset(ds, holdoutIndices),
    trainIndices,
    holdoutIndices,
  };
}

/** The stratified held-out split of `train` for seed `seed` (the paper job's stream too). */
export function holdoutSplit(train: Dataset, amount: number, seed: number): HoldoutSplit {
  return splitHoldout(train, amount, Rng.derive(seed, 'holdout'));
}
