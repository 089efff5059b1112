/**
 * The run report of `dk train` and `dk distill`: its flags (--report FILE, --no-report), where it
 * goes (default `<out>.report.html` and `<out>.report.json`), and writing it after the model is
 * saved. A report that cannot be made or written is a warning: the model is kept.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Dataset } from '../data/dataset.js';
import type { RunInput } from '../report/run-measure.js';
import type { RunReportPaths } from '../report/run-write.js';
import type { TrainConfig } from '../train/config.js';
import { UsageError } from '../util/errors.js';
import type { ProgressSink } from '../util/progress.js';
import { checkOutFile } from './output.js';

export function addReportFlags(cmd: Command): Command {
  return cmd
    .option('--report <file.html>', 'write the run report (an HTML page, its data beside it as .json) here instead of <out>.report.html')
    .option('--no-report', 'write no run report');
}

/**
 * The report's paths from --report / --no-report and --out (null: no report). A --report FILE is
 * checked like --out (an existing file needs --force); the default `<out>.report.*` belongs to the
 * model and is replaced with it, so only a directory in its way is refused.
 */
export function reportPathsFrom(report: string | boolean | undefined, out: string, force: boolean): RunReportPaths | null {
  if (report === false) return null;
  const given = typeof report === 'string';
  const html = resolve(given ? report : `${out}.report.html`);
  const json = html.toLowerCase().endsWith('.html') ? `${html.slice(0, -5)}.json` : `${html}.json`;
  const label = given ? report : html;
  if (html === resolve(out) || json === resolve(out)) throw new UsageError(`--report ${label}: is the model's own path (--out ${out}); choose another file`);
  const replace = force || !given;
  checkOutFile(label, replace, 'report');
  try {
    checkOutFile(json, replace, 'report');
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (the report's data file, beside ${label})`);
  }
  return { html, json };
}

/** The run's settings as people read them. */
export function settingsOf(cfg: TrainConfig, distill: boolean): { label: string; value: string }[] {
  const o = cfg.optim;
  const opt = [o.kind, `lr ${cfg.lr}`, o.kind === 'sgd' && o.momentum ? `momentum ${o.momentum}${o.nesterov ? ' (Nesterov)' : ''}` : '', o.weightDecay ? `weight decay ${o.weightDecay}` : '', o.maxNorm ? `max-norm ${o.maxNorm}` : '']
    .filter(Boolean)
    .join(', ');
  const sch = cfg.schedule;
  const out = [
    { label: 'epochs', value: String(cfg.epochs) },
    { label: 'batch size', value: String(cfg.batch) },
    { label: 'optimiser', value: opt },
    { label: 'learning-rate schedule', value: `${sch.kind}${sch.warmupSteps ? `, ${sch.warmupSteps} warm-up steps` : ''}` },
    { label: 'seed', value: String(cfg.seed) },
  ];
  if (cfg.jitter) out.push({ label: 'input shifts', value: `up to ${cfg.jitter} px` });
  if (distill) {
    out.unshift({
      label: 'loss',
      value: cfg.loss === 'logit-mse' ? `matching logits by squared error, α = ${cfg.alpha}` : `α·T²·soft + (1 − α)·hard at T = ${cfg.temperature}, α = ${cfg.alpha} (${cfg.mix})`,
    });
  }
  return out;
}

/** Class names the data carries, when it carries them. */
export function classNamesOf(ds: Dataset): string[] | undefined {
  const names = (ds as Dataset & { classNames?: unknown }).classNames;
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
}

export type RunReportOutcome = RunReportPaths | { error: string };

/**
 * Measure the finished run and write its report; never throws: a failure comes back as
 * `{ error }` (and a log line), the model already saved stays as it is.
 */
export async function writeRunReportSafely(paths: RunReportPaths, input: RunInput, progress: ProgressSink): Promise<RunReportOutcome> {
  try {
    const [{ buildRunReport }, { writeRunReport }] = await Promise.all([import('../report/run-measure.js'), import('../report/run-write.js')]);
    progress({ kind: 'log', text: 'run report: measuring the models (test set, inference time at batch 1 and 256)' });
    return writeRunReport(paths, await buildRunReport(input));
  } catch (e) {
    const error = (e as Error).message;
    progress({ kind: 'log', text: `run report not written: ${error}` });
    return { error };
  }
}

/** Print where the report went, or (on stderr) why it did not; the run itself succeeded either way. */
export function printReportOutcome(r: RunReportOutcome | undefined): void {
  if (!r) return;
  if ('error' in r) process.stderr.write(`warning: the run report was not written (${r.error}); the model is saved\n`);
  else process.stdout.write(`report: ${r.html}\n`);
}

/** The data fields of a run's report input. */
export function dataOf(split: { train: Dataset; test?: Dataset }, trainSize: number, heldOutSize: number | undefined, source: string): Pick<RunInput, 'classes' | 'classNames' | 'source' | 'trainSize' | 'heldOutSize' | 'test' | 'timingData'> {
  return {
    classes: split.train.classes,
    classNames: (split.test && classNamesOf(split.test)) ?? classNamesOf(split.train),
    source,
    trainSize,
    heldOutSize,
    test: split.test && split.test.n > 0 ? split.test : undefined,
    timingData: split.train,
  };
}
