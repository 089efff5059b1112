/** How sure the test-set numbers are: exact intervals on each main model's test errors, and paired McNemar tests between them. */
import type { Significance } from '../../report/schema.js';
import { errorInterval, mcnemar } from '../../util/stats.js';

/** The confidence level of the report's intervals. */
export const LEVEL = 0.95;

export interface WrongMasks {
  teacher: Uint8Array;
  hard: Uint8Array;
  distilled: Uint8Array;
  /** The same student from cached targets, when the headline one learnt from the online teacher. */
  distilledCached?: Uint8Array;
  ensemble?: { ensemble: Uint8Array; student: Uint8Array };
  /** The α sweep's own runs, by α; compared with the distilled student at `alpha`. */
  alphas: Map<number, Uint8Array>;
}

export function significanceOf(wrong: WrongMasks, alpha: number, testSize: number): Significance {
  const errorsIn = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);
  const models: [string, Uint8Array][] = [
    ['teacher', wrong.teacher],
    ['hard student', wrong.hard],
    ['distilled student', wrong.distilled],
    ...(wrong.distilledCached ? ([['distilled, cached targets', wrong.distilledCached]] as [string, Uint8Array][]) : []),
    ...(wrong.ensemble ? ([['ensemble', wrong.ensemble.ensemble], ['ensemble’s student', wrong.ensemble.student]] as [string, Uint8Array][]) : []),
  ];
  const byName = new Map(models);
  const pairs: [string, string][] = [
    ['distilled student', 'hard student'],
    ['teacher', 'distilled student'],
    ['distilled student', 'distilled, cached targets'],
    ['ensemble’s student', 'hard student'],
    ['ensemble’s student', 'distilled student'],
    ['ensemble', 'teacher'],
  ];
  const compare = (a: string, am: Uint8Array, b: string, bm: Uint8Array) => ({ a, b, aErrors: errorsIn(am), bErrors: errorsIn(bm), ...mcnemar(am, bm) });
  const comparisons = pairs.filter(([a, b]) => byName.has(a) && byName.has(b)).map(([a, b]) => compare(a, byName.get(a)!, b, byName.get(b)!));
  // The α sweep is of the cached recipe: its runs against the cached student at the profile's α.
  for (const [al, m] of wrong.alphas) comparisons.push(compare(`α = ${al}`, m, `α = ${alpha}`, wrong.distilledCached ?? wrong.distilled));
  return {
    level: LEVEL,
    intervalMethod: 'Clopper–Pearson exact binomial interval on the error count',
    intervals: models.map(([name, m]) => {
      const errors = errorsIn(m);
      return { name, testErrors: errors, ...errorInterval(errors, testSize, LEVEL) };
    }),
    testMethod: 'exact McNemar test, two-sided: a binomial test on the test examples exactly one of the two models gets wrong',
    comparisons,
  };
}
