/**
 * The transfer set: which training examples the student sees (Hinton, Vinyals & Dean 2015, §3):
 * all of them, with a held-out split kept back (for `dk bias`), with classes left out or kept,
 * a stratified seeded fraction, and labelled or not. Every subset keeps `ids` pointing at the
 * loaded training set, so cached teacher rows stay aligned.
 */
import type { Dataset } from '../data/dataset.js';
import { keepClasses, omitClasses, stratifiedFraction, subset } from '../data/subset.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { holdoutSplit } from '../data/subset.js';

export interface TransferOptions {
  /** Classes removed from the transfer set (e.g. [3]). */
  omitClasses?: number[];
  /** Only these classes stay in the transfer set (e.g. [7, 8]). */
  onlyClasses?: number[];
  /** A stratified, seeded fraction of the transfer set (e.g. 0.03). */
  fraction?: number;
  /** Ignore the labels: soft loss only (α = 1). */
  unlabeled?: boolean;
  /** Keep this many training examples (or this fraction) out of the transfer set; `dk bias --holdout` picks offsets on them. */
  holdout?: number;
}

export interface TransferSet {
  data: Dataset;
  labeled: boolean;
  /** Human-readable summary, e.g. "training set − 5000 held out, class 3 omitted: 49,490 examples". */
  description: string;
  /** The held-out split (all classes) when `holdout` is set: the student is scored on it after each epoch. */
  heldOut?: Dataset;
}

function checkClassList(list: unknown, classes: number, param: string): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new UsageError({ param, detail: 'expected a non-empty list of class ids' });
  for (const c of list) {
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw new UsageError({ param, detail: `class ${c} is out of range; the data has classes 0..${classes - 1}` });
  }
  return list as number[];
}

/**
 * Apply the transfer options to the loaded training set (or another base set, named `what` in
 * the description), in order: holdout, classes, fraction.
 */
export function transferSet(train: Dataset, o: TransferOptions, seed: number, what = 'training set'): TransferSet {
  let data = train;
  let heldOut: Dataset | undefined;
  const parts: string[] = [what];
  if (o.holdout !== undefined) {
    ({ train: data, holdout: heldOut } = holdoutSplit(train, o.holdout, seed));
    parts.push(`− ${train.n - data.n} held out`);
  }
  if (o.onlyClasses !== undefined) {
    const cs = checkClassList(o.onlyClasses, train.classes, 'onlyClasses');
    data = subset(data, keepClasses(data, cs));
    parts.push(`only class${cs.length > 1 ? 'es' : ''} ${cs.join(',')}`);
  }
  if (o.omitClasses !== undefined) {
    const cs = checkClassList(o.omitClasses, train.classes, 'omitClasses');
    data = subset(data, omitClasses(data, cs));
    parts.push(`class${cs.length > 1 ? 'es' : ''} ${cs.join(',')} omitted`);
  }
  if (o.fraction !== undefined) {
    if (!(typeof o.fraction === 'number' && o.fraction > 0 && o.fraction <= 1)) throw new UsageError({ param: 'fraction', detail: `must be in (0, 1], got ${o.fraction}` });
    if (o.fraction < 1) {
      data = subset(data, stratifiedFraction(data, o.fraction, Rng.derive(seed, 'fraction')));
      parts.push(`${+(100 * o.fraction).toPrecision(4)}% stratified`);
    }
  }
  const labeled = !o.unlabeled;
  return { data, labeled, heldOut, description: `${parts.join(', ')}: ${data.n.toLocaleString('en')} examples${labeled ? '' : ', labels unused (soft loss only)'}` };
}
