import { rmSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { renderRunReport } from './run-html.js';
import { type RunReport, validateRunReport } from './run-schema.js';

export interface RunReportPaths {
  html: string;
  json: string;
}

/**
 * Validate a run report (throws RunReportValidationError naming the first bad field, before
 * anything is written), render it, and write the JSON and the page, each atomically. If the page
 * cannot be written, the JSON written just before is removed again: both or neither.
 */
export function writeRunReport(paths: RunReportPaths, report: unknown): RunReportPaths {
  validateRunReport(report);
  const html = renderRunReport(report as RunReport);
  writeFileAtomic(paths.json, JSON.stringify(report, null, 2) + '\n');
  try {
    writeFileAtomic(paths.html, html);
  } catch (e) {
    rmSync(paths.json, { force: true });
    throw e;
  }
  return paths;
}
