/** `dk eval`: evaluate a saved model on a dataset's test split; optional per-class bias offsets. */
import type { Command } from 'commander';
import type { EvalSummary } from '../../train/evaluate.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { num } from '../parse.js';
import { readUserFile } from '../../util/read.js';
import type { TeacherPrep } from '../../distill/modes.js';
import { addPrepFlags, anyPrep, perTeacherPrep, prepFlagsOf } from '../teacher-flags.js';
import { type ImageFlags, type ImageFlagValues, DATA_HELP, cacheDirOption, channelsOption, imageFlagsFrom, imageSizeOption, noCacheOption, checkImageFlagsApply } from '../data.js';

/** Parse '3=+3.5,7=-1' into {3: 3.5, 7: -1}. */
export function parseBias(raw: string): Record<number, number> {
  const out: Record<number, number> = {};
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*=\s*([+-]?\d*\.?\d+(?:e[+-]?\d+)?)\s*$/i.exec(part);
    if (!m) throw new UsageError(`--bias: expected CLASS=OFFSET[,CLASS=OFFSET…] (e.g. 3=+3.5), got '${part}'`);
    out[Number(m[1])] = Number(m[2]);
  }
  return out;
}

export function applyBias(logits: Float32Array, n: number, C: number, bias: Record<number, number>): void {
  for (const [k, b] of Object.entries(bias)) {
    const c = Number(k);
    if (c >= C) throw new UsageError(`--bias: class ${c} is out of range for a model with ${C} classes`);
    for (let i = 0; i < n; i++) logits[i * C + c] += b;
  }
}

export interface EvalJobArgs {
  model: string;
  data: string;
  /** Image-folder options for `data`. */
  images?: ImageFlags;
  bias?: Record<number, number>;
  threads?: number;
  /** A directory written by dk specialists: evaluate the generalist + specialists combination. */
  specialists?: string;
  /** Generalist's top-n classes that activate specialists (with `specialists`). */
  topN?: number;
  /** A second model scored on the same test examples: a paired test of the two. */
  compare?: string;
  /** How foreign models (not saved by dark-knowledge) are fed and read: --mean, --std, --layout, --output. */
  prep?: TeacherPrep;
}

/** The confidence level of `dk eval`'s interval. */
export const EVAL_LEVEL = 0.95;

/** `dk eval`'s result for a single model: the summary, an interval on its errors, and an optional paired comparison. */
export interface EvalResult extends EvalSummary {
  /** Class names (perClass[k] is the accuracy on classNames[k]), when the model or the data has them. */
  classNames?: string[];
  /** Clopper–Pearson interval on the error count at `level`. */
  interval: { level: number; lo: number; hi: number };
  compare?: {
    model: string;
    errors: number;
    interval: { level: number; lo: number; hi: number };
    /** Test examples --model gets wrong and --compare gets right. */
    onlyModel: number;
    /** Test examples --compare gets wrong and --model gets right. */
    onlyCompare: number;
    /** Exact McNemar test, two-sided. */
    pValue: number;
  };
}

/** What `dk eval --specialists` computes: the Table-4 evaluation plus a few counts for the text output. */
export interface SpecialistsEvalResult {
  kind: 'specialists';
  evaluation: import('../../specialists/evaluate.js').SpecialistEvaluation;
  topN: number;
  specialists: number;
  examplesWithActive: number;
  unconverged: number;
  total: number;
}

export async function evalJob(a: EvalJobArgs, progress: ProgressSink): Promise<EvalResult | SpecialistsEvalResult> {
  // The engine is loaded here, in the job, so that the command line itself starts fast.
  const [{ openData }, { Network }, { argmaxRows, networkLogits, summarise }, { errorInterval, mcnemar, wrongMask }] = await Promise.all([
    import('../../data/load.js'),
    import('../../train/network.js'),
    import('../../train/evaluate.js'),
    import('../../util/stats.js'),
  ]);
  const { test } = await openData(a.data, { ...a.images, progress });
  const { isForeignModel, foreignLogProbs } = await import('../../distill/teacher.js');
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  /** A model saved by dark-knowledge, or a foreign one (scored like a teacher: its class scores as log-probabilities). */
  type Loaded = { bytes: Uint8Array; net: InstanceType<typeof Network>; foreign?: undefined } | { bytes: Uint8Array; net?: undefined; foreign: true };
  const load = (flag: string, file: string): Loaded => {
    const bytes = readUserFile(`${flag} ${file}`, file);
    if (isForeignModel(bytes)) return { bytes, foreign: true };
    const net = Network.fromOnnx(bytes, file);
    if (test.classes > net.spec.classes) throw new UsageError(`${flag} ${file}: outputs ${net.spec.classes} classes but the data has ${test.classes}`);
    if (size(test.shape) !== size(net.spec.inputShape)) {
      throw new UsageError(`${flag} ${file}: takes examples of shape [${net.spec.inputShape}] but --data ${a.data} has [${test.shape}]`);
    }
    if (net.classNames && test.classNames && net.classNames.join('\n') !== test.classNames.join('\n')) {
      throw new UsageError(`${flag} ${file}: was trained on classes ${net.classNames.join(', ')} but --data ${a.data} has ${test.classNames.join(', ')}; the labels would not line up`);
    }
    return { bytes, net };
  };
  const model = load('--model', a.model);
  const otherModel = a.compare === undefined ? undefined : load('--compare', a.compare);
  if (a.prep && !model.foreign && !otherModel?.foreign) {
    throw new UsageError(`--mean/--std/--layout/--output: these say how to feed a foreign model; --model ${a.model} was saved by dark-knowledge and takes [0,1] pixels as they are`);
  }
  /** Logits (ours) or log-probabilities (foreign) over the test split, and their width. */
  const scores = async (flag: string, file: string, m: Loaded): Promise<{ z: Float32Array; C: number }> => {
    if (m.net) return { z: await networkLogits(m.net, test, { threads: a.threads }), C: m.net.spec.classes };
    const r = await foreignLogProbs(file, test, { prep: a.prep, names: { model: flag === '--compare' ? 'compare' : 'model', prefix: 'model.' }, runtime: { threads: a.threads }, progress: progress });
    progress({ kind: 'log', text: r.report });
    return { z: r.logProbs, C: test.classes };
  };
  if (a.specialists !== undefined) {
    if (!model.net) throw new UsageError(`--specialists: the generalist --model ${a.model} must be a model saved by dark-knowledge (dk train or dk distill)`);
    const { bytes, net } = model;
    const { loadSpecialists, evaluateSpecialists, DEFAULT_TOP_N } = await import('../../specialists/infer.js');
    const loaded = loadSpecialists(a.specialists, { bytes, network: net, name: a.model });
    const topN = a.topN ?? DEFAULT_TOP_N;
    const r = await evaluateSpecialists({ generalist: net, specialists: loaded.specialists, data: test, topN, runtime: { threads: a.threads } });
    return { kind: 'specialists', evaluation: r.evaluation, topN, specialists: loaded.specialists.length, examplesWithActive: r.examplesWithActive, unconverged: r.unconverged, total: test.n };
  }
  const { z: logits, C } = await scores('--model', a.model, model);
  if (a.bias) applyBias(logits, test.n, C, a.bias);
  const pred = argmaxRows(logits, test.n, C);
  const summary = summarise(pred, test.y, C);
  const interval = (errors: number) => ({ level: EVAL_LEVEL, ...errorInterval(errors, test.n, EVAL_LEVEL) });
  const out: EvalResult = { ...summary, interval: interval(summary.errors) };
  const names = model.net?.classNames ?? test.classNames;
  if (names) out.classNames = names;
  if (otherModel && a.compare !== undefined) {
    const o = await scores('--compare', a.compare, otherModel);
    const otherPred = argmaxRows(o.z, test.n, o.C);
    const otherWrong = wrongMask(otherPred, test.y);
    const m = mcnemar(wrongMask(pred, test.y), otherWrong);
    const errors = otherWrong.reduce((s, v) => s + v, 0);
    out.compare = { model: a.compare, errors, interval: interval(errors), onlyModel: m.onlyA, onlyCompare: m.onlyB, pValue: m.pValue };
  }
  return out;
}

export function registerEval(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  const cmd = program
    .command('eval')
    .description("evaluate a model on the data's test split")
    .requiredOption('--model <file.onnx>', 'a model saved by dk train or dk distill, or any ONNX classifier (see --mean, --std, --layout)')
    .option('--data <mnist|DIR>', DATA_HELP, 'mnist')
    .option('--bias <c=x,…>', 'add offsets to class logits before the argmax, e.g. 3=+3.5', parseBias)
    .option('--threads <n>', 'onnxruntime threads', num('threads', { min: 1, int: true }))
    .option('--specialists <DIR>', 'evaluate the generalist (--model) combined with the specialists in DIR (written by dk specialists)')
    .option('--top-n <n>', "with --specialists: the generalist's top-n classes activate specialists (default 2; the paper used 1)", num('top-n', { min: 1, int: true }))
    .option('--compare <other.onnx>', 'also score another model on the same test examples and test the difference (exact McNemar test); --bias applies to --model only')
    .option('--json', 'print the result as JSON', false)
    .addOption(imageSizeOption())
    .addOption(channelsOption())
    .addOption(cacheDirOption())
    .addOption(noCacheOption());
  addPrepFlags(cmd, '', 'a foreign model (--model or --compare: an ONNX classifier not saved by dark-knowledge)')
    .action(async (f: ImageFlagValues & { model: string; data: string; bias?: Record<number, number>; threads?: number; json: boolean; specialists?: string; topN?: number; compare?: string }) => {
      const pf = prepFlagsOf(f as unknown as Record<string, unknown>, '');
      const prep = anyPrep(pf) ? perTeacherPrep(pf, 1, '')[0] : undefined;
      if (f.topN !== undefined && f.specialists === undefined) throw new UsageError('--top-n: only applies with --specialists DIR');
      if (f.bias && f.specialists !== undefined) throw new UsageError('--bias: cannot be combined with --specialists');
      if (f.compare !== undefined && f.specialists !== undefined) throw new UsageError('--compare: cannot be combined with --specialists');
      await checkImageFlagsApply(imageFlagsFrom(f), f.data);
      const res = (await run('eval', { model: f.model, data: f.data, images: imageFlagsFrom(f), bias: f.bias, threads: f.threads, specialists: f.specialists, topN: f.topN, compare: f.compare, prep } satisfies EvalJobArgs)) as
        | EvalResult
        | SpecialistsEvalResult;
      if ('kind' in res) {
        printSpecialists(res, f.json);
        return;
      }
      const r = res;
      if (f.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const w = (s: string) => process.stdout.write(s + '\n');
      const iv = (i: EvalResult['interval']) => `${100 * i.level}% interval ${Math.round(i.lo)}–${Math.round(i.hi)}`;
      w(`test errors ${r.errors}/${r.total}, accuracy ${(100 * r.accuracy).toFixed(2)}% (${iv(r.interval)})`);
      w(`per class: ${r.perClass.map((a, k) => `${r.classNames?.[k] ?? k}:${(100 * a).toFixed(1)}%`).join(' ')}`);
      if (r.compare) {
        const c = r.compare;
        const p = c.pValue < 1e-4 ? c.pValue.toExponential(1) : String(+c.pValue.toPrecision(2));
        w(`--compare ${c.model}: test errors ${c.errors}/${r.total} (${iv(c.interval)})`);
        w(`  only --model wrong: ${c.onlyModel}, only --compare wrong: ${c.onlyCompare}; exact McNemar test p = ${p}${c.pValue < 0.05 && c.onlyModel !== c.onlyCompare ? ` (${c.onlyModel < c.onlyCompare ? '--model' : '--compare'} is better at the 5% level)` : ' (no significant difference at the 5% level)'}`);
      }
    });
}

function printSpecialists(r: SpecialistsEvalResult, json: boolean): void {
  const e = r.evaluation;
  if (json) {
    process.stdout.write(JSON.stringify({ generalist: e.generalist, combined: e.combined, coverage: e.coverage }) + '\n');
    return;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  w(`generalist:                test errors ${e.generalist.errors}/${r.total}, accuracy ${pct(e.generalist.accuracy)}`);
  w(`generalist + specialists:  test errors ${e.combined.errors}/${r.total}, accuracy ${pct(e.combined.accuracy)}`);
  w(`(${r.specialists} specialist(s), activated by the generalist's top-${r.topN} class${r.topN > 1 ? 'es' : ''}; at least one active on ${r.examplesWithActive} examples${r.unconverged ? `; ${r.unconverged} combinations hit the iteration cap` : ''})`);
  w('by number of active specialists covering the correct class (Hinton et al. 2015, Table 4):');
  w('  covering  examples  Δcorrect  relative change');
  for (const row of e.coverage) {
    const rel = row.relativeChange === null ? 'n/a' : `${row.relativeChange >= 0 ? '+' : ''}${(100 * row.relativeChange).toFixed(2)}%`;
    w(`  ${String(row.covering).padStart(8)}  ${String(row.examples).padStart(8)}  ${(row.deltaCorrect >= 0 ? '+' : '') + row.deltaCorrect}`.padEnd(38) + rel);
  }
}
