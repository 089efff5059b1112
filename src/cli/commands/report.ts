/** `dk report`: render report.html from a results.json, after checking it against the schema. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Results } from '../../report/schema.js';
import type { RunReport } from '../../report/run-schema.js';
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

/** A run report's JSON (written by dk train / dk distill), read and checked; null when the file is not one. */
async function readRunReportFile(label: string, path: string): Promise<RunReport | null> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(readUserFile(label, path)).toString('utf8'));
  } catch {
    return null; // readResultsFile says what is wrong with it
  }
  if (!value || typeof value !== 'object' || (value as { format?: unknown }).format !== 'dk-run-report') return null;
  const schema = await import('../../report/run-schema.js');
  const check: (v: unknown) => asserts v is RunReport = schema.validateRunReport;
  const { RunReportValidationError } = schema;
  try {
    check(value);
  } catch (e) {
    if (e instanceof RunReportValidationError) throw new UsageError(`${label}: ${e.message} (the schema: src/report/SCHEMA.md, "Run reports")`);
    throw e;
  }
  return value as RunReport;
}

/** Read, validate and render; returns the report's path. Writes nothing when any step fails. */
export async function renderReportFile(a: ReportArgs): Promise<string> {
  const label = `--results ${a.results}`;
  const run = await readRunReportFile(label, a.results);
  if (run) {
    const { renderRunReport } = await import('../../report/run-html.js');
    const out = resolve(a.out ?? (a.results.toLowerCase().endsWith('.json') ? `${a.results.slice(0, -5)}.html` : `${a.results}.html`));
    checkReportOut(out, a);
    writeFileAtomic(out, renderRunReport(run));
    return out;
  }
  const value = await readResultsFile(label, a.results);
  const { renderReport } = await import('../../report/html.js');
  const out = resolve(a.out ?? join(dirname(a.results), 'report.html'));
  checkReportOut(out, a);
  const html = renderReport(value);
  writeFileAtomic(out, html);
  return out;
}

function checkReportOut(out: string, a: ReportArgs): void {
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) throw new UsageError(`--out ${a.out ?? out}: is a directory; expected an .html file path`);
    if (!a.force) throw new UsageError(`--out ${a.out ?? out}: already exists; pass --force to replace it`);
  }
  if (!existsSync(dirname(out))) throw new UsageError(`--out ${a.out ?? out}: directory ${dirname(out)} does not exist`);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render report.html from a results.json (written by dk paper, or by any tool that follows its schema), or a run report from the .report.json of dk train / dk distill')
    .requiredOption('--results <file>', 'a results.json or a run report’s .report.json; checked against its schema (src/report/SCHEMA.md) first')
    .option('--out <file.html>', 'where to write the report (default: report.html beside a results.json; X.report.html for X.report.json)')
    .option('--force', 'replace an existing report', false)
    .action(async (f: { results: string; out?: string; force: boolean }) => {
      const out = await renderReportFile(f);
      process.stdout.write(`report: ${out}\n`);
    });
}
