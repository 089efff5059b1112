/**
 * Evaluation in the form of Hinton, Vinyals & Dean 2015, Table 4: overall accuracy of the
 * generalist and of the generalist + specialists combination, and the breakdown by the number
 * of active specialists whose group covers the correct class.
 */
import { type Labels, checkLabels } from './check.js';

export interface AccuracySummary {
  /** Examples whose prediction differs from the label. */
  errors: number;
  /** Fraction correct, in [0, 1]. */
  accuracy: number;
}

export interface CoverageRow {
  /** Number of active specialists whose group contains the true class. */
  covering: number;
  /** Test examples with that coverage. */
  examples: number;
  /** (combined correct) − (generalist correct) among those examples. */
  deltaCorrect: number;
  /**
   * deltaCorrect / (generalist correct among those examples): the relative change in
   * accuracy within the bucket, (acc_combined − acc_generalist) / acc_generalist, as the paper
   * reports it ("relative accuracy improvement"). 0 when both are 0; null when the generalist
   * got none of them right but the combination did (the ratio is undefined).
   */
  relativeChange: number | null;
}

export interface SpecialistEvaluation {
  generalist: AccuracySummary;
  combined: AccuracySummary;
  /** One row per coverage value that occurs, ascending (0 = no active specialist covers the label). */
  coverage: CoverageRow[];
}

/**
 * For each example, the number of active specialists whose group contains the true class.
 * `active` is the n×M mask of activeSpecialists (M = groups.length).
 */
export function coveringCounts(labels: Labels, active: Uint8Array, groups: readonly (readonly number[])[]): Int32Array {
  const fn = 'coveringCounts';
  if (!(active instanceof Uint8Array)) throw new TypeError(`${fn}: active must be a Uint8Array (n × M mask)`);
  if (!Array.isArray(groups)) throw new TypeError(`${fn}: groups must be an array of arrays of class ids`);
  const n = labels.length;
  const M = groups.length;
  if (active.length !== n * M) throw new RangeError(`${fn}: active.length must be n × M = ${n} × ${M} = ${n * M}, got ${active.length}`);
  let C = 1;
  for (const g of groups) for (const c of g) if (Number.isInteger(c) && c >= C) C = c + 1;
  for (let i = 0; i < n; i++) if (Number.isInteger(labels[i]) && labels[i] >= C) C = labels[i] + 1;
  checkLabels(labels, C, fn);
  const member = new Uint8Array(M * C);
  groups.forEach((g, m) => {
    for (const c of g) {
      if (!Number.isInteger(c) || c < 0) throw new RangeError(`${fn}: groups[${m}] holds ${c}, not a class id (an integer >= 0)`);
      member[m * C + c] = 1;
    }
  });
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let m = 0; m < M; m++) if (active[i * M + m] && member[m * C + labels[i]]) k++;
    out[i] = k;
  }
  return out;
}

/**
 * Table-4 evaluation. `generalistPred` and `combinedPred` are predicted class ids, `covering`
 * the per-example counts of {@link coveringCounts}; all of length n = labels.length.
 */
export function evaluateCombination(
  labels: Labels,
  generalistPred: Labels,
  combinedPred: Labels,
  covering: Labels,
): SpecialistEvaluation {
  const fn = 'evaluateCombination';
  const n = labels.length;
  for (const [name, a] of [
    ['generalistPred', generalistPred],
    ['combinedPred', combinedPred],
    ['covering', covering],
  ] as const) {
    if (a === null || typeof a !== 'object' || typeof a.length !== 'number') {
      throw new TypeError(`${fn}: ${name} must be an integer array`);
    }
    if (a.length !== n) throw new RangeError(`${fn}: ${name}.length must equal labels.length (${n}), got ${a.length}`);
  }
  if (n === 0) throw new RangeError(`${fn}: labels must not be empty`);
  for (let i = 0; i < n; i++) {
    for (const [name, a] of [
      ['labels', labels],
      ['generalistPred', generalistPred],
      ['combinedPred', combinedPred],
      ['covering', covering],
    ] as const) {
      if (!Number.isInteger(a[i]) || a[i] < 0) throw new RangeError(`${fn}: ${name}[${i}] = ${a[i]}; must be an integer >= 0`);
    }
  }
  let gCorrect = 0;
  let cCorrect = 0;
  const buckets = new Map<number, { examples: number; g: number; c: number }>();
  for (let i = 0; i < n; i++) {
    const g = generalistPred[i] === labels[i] ? 1 : 0;
    const c = combinedPred[i] === labels[i] ? 1 : 0;
    gCorrect += g;
    cCorrect += c;
    let b = buckets.get(covering[i]);
    if (!b) buckets.set(covering[i], (b = { examples: 0, g: 0, c: 0 }));
    b.examples++;
    b.g += g;
    b.c += c;
  }
  const coverage: CoverageRow[] = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([covering, b]) => {
      const deltaCorrect = b.c - b.g;
      const relativeChange = b.g > 0 ? deltaCorrect / b.g : deltaCorrect === 0 ? 0 : null;
      return { covering, examples: b.examples, deltaCorrect, relativeChange };
    });
  return {
    generalist: { errors: n - gCorrect, accuracy: gCorrect / n },
    combined: { errors: n - cCorrect, accuracy: cCorrect / n },
    coverage,
  };
}
