/**
 * Keeping the specialists that help, judged on held-out training examples (`dk specialists
 * --holdout N`; never the test set). The rule, greedy and deterministic:
 *
 * 1. each candidate alone (generalist + that one specialist, combined as at inference) is
 *    scored on the held-out examples; a candidate that does not strictly lower the
 *    generalist's held-out errors is dropped;
 * 2. the rest are tried in order of their errors alone (fewest first, ties by position); a
 *    candidate is kept when adding it to the ones kept so far strictly lowers the held-out
 *    errors of the combination, else it is dropped.
 *
 * So every kept specialist lowered the held-out errors both alone and when it was added, and
 * the final combination has fewer held-out errors than the generalist (or no specialist is kept).
 */
import { argmaxRows } from '../util/softmax.js';
import { type CombineOptions, type SpecialistPredictions, activeSpecialists, combineDetailed } from './combine.js';
import { type Labels, checkClasses, rowsOf } from './check.js';

export interface CandidateVerdict {
  /** Position among the candidates. */
  index: number;
  group: number[];
  /** Held-out errors of the generalist with this specialist alone. */
  errorsAlone: number;
  /** Held-out errors when it was tried with the ones kept before it (step 2), if it got there. */
  errorsWithKept?: number;
  kept: boolean;
  reason: string;
}

export interface HeldOutChoice {
  /** Held-out examples. */
  n: number;
  generalistErrors: number;
  /** Held-out errors of the combination of the kept specialists. */
  errors: number;
  /** Indices of the kept candidates, in the order they were added. */
  kept: number[];
  verdicts: CandidateVerdict[];
}

/** Held-out errors of the generalist (probabilities pg, n×C) combined with `preds`, as at inference. */
export function combinationErrors(labels: Labels, pg: Float64Array, C: number, preds: readonly SpecialistPredictions[], topN: number, combine?: CombineOptions): number {
  const n = labels.length;
  const gPred = argmaxRows(pg, n, C);
  if (preds.length === 0) {
    let e = 0;
    for (let i = 0; i < n; i++) if (gPred[i] !== labels[i]) e++;
    return e;
  }
  const M = preds.length;
  const active = activeSpecialists(pg, C, preds.map((p) => p.group), topN);
  const res = combineDetailed(pg, C, preds, active, combine);
  const qPred = argmaxRows(res.q, n, C);
  let e = 0;
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let m = 0; m < M && !any; m++) any = active[i * M + m] === 1;
    if ((any ? qPred[i] : gPred[i]) !== labels[i]) e++;
  }
  return e;
}

/** The greedy choice at the top of this file. `candidates[m].probs` are over group + dustbin on all n held-out rows. */
export function chooseOnHoldout(labels: Labels, pg: Float64Array, C: number, candidates: readonly SpecialistPredictions[], topN: number, combine?: CombineOptions): HeldOutChoice {
  checkClasses(C, 'chooseOnHoldout');
  const n = rowsOf(pg, C, 'chooseOnHoldout', 'pg');
  if (labels.length !== n) throw new RangeError(`chooseOnHoldout: labels has ${labels.length} entries, pg ${n} rows`);
  const base = combinationErrors(labels, pg, C, [], topN, combine);
  const verdicts: CandidateVerdict[] = candidates.map((c, index) => {
    const errorsAlone = combinationErrors(labels, pg, C, [c], topN, combine);
    return { index, group: [...c.group], errorsAlone, kept: false, reason: '' };
  });
  const order = verdicts.filter((v) => {
    if (v.errorsAlone < base) return true;
    v.reason = `alone: ${v.errorsAlone} held-out errors, not fewer than the generalist's ${base}`;
    return false;
  });
  order.sort((a, b) => a.errorsAlone - b.errorsAlone || a.index - b.index);
  const kept: number[] = [];
  let errors = base;
  for (const v of order) {
    const e = combinationErrors(labels, pg, C, [...kept, v.index].map((i) => candidates[i]), topN, combine);
    v.errorsWithKept = e;
    if (e < errors) {
      v.kept = true;
      v.reason = kept.length === 0 ? `alone: ${base} → ${e} held-out errors` : `with the ${kept.length} kept before it: ${errors} → ${e} held-out errors`;
      kept.push(v.index);
      errors = e;
    } else {
      v.reason = `alone ${base} → ${v.errorsAlone}, but with the ${kept.length} kept before it: ${errors} → ${e} held-out errors (no gain)`;
    }
  }
  return { n, generalistErrors: base, errors, kept, verdicts };
}
