/** `dk report`: render report.html from a results.json, after checking it against the schema. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Results } from '../../report/schema.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { UsageError } from '../../util/errors.js';
import { readUserFile } from '../../util/read.js';

export interface ReportArgs {
  results: string;
  out?: string;
  force?: boolean;
}

/** Read a results.json and check it against the schema; errors name `label` (the flag and file). */
export async function readResultsFile(label: string, path: string): Promise<Results> {
  const raw = Buffer.from(readUserFile(label, path)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${label}: not valid JSON (${(e as Error).message})`);
  }
  const validate = await import('../../report/validate.js');
  const check: (v: unknown) => asserts v is Results = validate.validateResults;
  try {
    check(value);
  } catch (e) {
    if (e instanceof validate.ResultsValidationError) throw new UsageError(`${label}: ${e.message} (the schema: src/report/SCHEMA.md)`);
    throw e;
  }
  return value;
}

/** Read, validate and render; returns the report's path. Writes nothing when any step fails. */
export async function renderReportFile(a: ReportArgs): Promise<string> {
  const value = await readResultsFile(`--results ${a.results}`, a.results);
  const { renderReport } = await import('../../report/html.js');
  const out = resolve(a.out ?? join(dirname(a.results), 'report.html'));
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) throw new UsageError(`--out ${a.out ?? out}: is a directory; expected an .html file path`);
    if (!a.force) throw new UsageError(`--out ${a.out ?? out}: already exists; pass --force to replace it`);
  }
  const html = renderReport(value);
  writeFileAtomic(out, html);
  return out;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render report.html from a results.json (written by dk paper, or by any tool that follows its schema)')
    .requiredOption('--results <file>', 'a results.json; checked against the schema (src/report/SCHEMA.md) first')
    .option('--out <file.html>', 'where to write the report (default: report.html beside the results)')
    .option('--force', 'replace an existing report', false)
    .action(async (f: { results: string; out?: string; force: boolean }) => {
      const out = await renderReportFile(f);
      process.stdout.write(`report: ${out}\n`);
    });
}
