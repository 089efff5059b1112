import { exampleResults } from '../../src/report/example.js';
import type { Results } from '../../src/report/schema.js';
import { validateResults } from '../../src/report/validate.js';

/** The example run as seed `seed`, with the three main models' test errors set (accuracies to match). */
export function seedRun(seed: number, teacher: number, hard: number, distilled: number): Results {
  const r = JSON.parse(JSON.stringify(exampleResults())) as Results;
  r.config.seed = seed;
  delete r.significance; // its counts would no longer match the runs
  const n = r.dataset.testSize;
  for (const [run, errors] of [[r.teacher, teacher], [r.hard, hard], [r.distilled, distilled]] as const) {
    run.testErrors = errors;
    run.testAccuracy = 1 - errors / n;
    delete run.testErrorsByClass; // its counts would no longer sum to the errors
  }
  validateResults(r);
  return r;
}

