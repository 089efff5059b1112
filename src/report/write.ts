import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { renderReport } from './html.js';
import type { Results } from './schema.js';
import { validateResults } from './validate.js';

export interface WrittenReport {
  resultsPath: string;
  reportPath: string;
}

/**
 * Validate `results` against the schema (throws ResultsValidationError naming the first invalid
 * field, before anything is written), then write DIR/results.json and DIR/report.html atomically.
 */
export function writeReport(dir: string, results: unknown): WrittenReport {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('writeReport: dir must be a non-empty string');
  validateResults(results);
  const html = renderReport(results as Results);
  mkdirSync(dir, { recursive: true });
  const resultsPath = join(dir, 'results.json');
  const reportPath = join(dir, 'report.html');
  writeFileAtomic(resultsPath, JSON.stringify(results, null, 2) + '\n');
  writeFileAtomic(reportPath, html);
  return { resultsPath, reportPath };
}
