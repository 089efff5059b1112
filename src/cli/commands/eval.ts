/** `dk eval`: evaluate a saved model on a dataset's test split; optional per-class bias offsets. */
import type { Command } from 'commander';
import type { EvalSummary } from '../../train/evaluate.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { num } from '../parse.js';
import { readUserFile } from '../../util/read.js';

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
  bias?: Record<number, number>;
  threads?: number;
  /** A directory written by dk specialists: evaluate the generalist + specialists combination. */
  specialists?: string;
  /** Generalist's top-n classes that activate specialists (with `specialists`). */
  topN?: number;
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

export async function evalJob(a: EvalJobArgs, _progress: ProgressSink): Promise<EvalSummary | SpecialistsEvalResult> {
  // The engine is loaded here, in the job, so that the command line itself starts fast.
  const [{ loadData }, { Network }, { argmaxRows, networkLogits, summarise }] = await Promise.all([
    import('../../data/load.js'),
    import('../../train/network.js'),
    import('../../train/evaluate.js'),
  ]);
  const bytes = readUserFile(`--model ${a.model}`, a.model);
  const net = Network.fromOnnx(bytes, a.model);
  const { test } = loadData(a.data);
  if (test.classes > net.spec.classes) throw new UsageError(`--model ${a.model}: outputs ${net.spec.classes} classes but the data has ${test.classes}`);
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  if (size(test.shape) !== size(net.spec.inputShape)) {
    throw new UsageError(`--model ${a.model}: takes examples of shape [${net.spec.inputShape}] but --data ${a.data} has [${test.shape}]`);
  }
  if (a.specialists !== undefined) {
    const { loadSpecialists, evaluateSpecialists, DEFAULT_TOP_N } = await import('../../specialists/infer.js');
    const loaded = loadSpecialists(a.specialists, { bytes, network: net, name: a.model });
    const topN = a.topN ?? DEFAULT_TOP_N;
    const r = await evaluateSpecialists({ generalist: net, specialists: loaded.specialists, data: test, topN, runtime: { threads: a.threads } });
    return { kind: 'specialists', evaluation: r.evaluation, topN, specialists: loaded.specialists.length, examplesWithActive: r.examplesWithActive, unconverged: r.unconverged, total: test.n };
  }
  const logits = await networkLogits(net, test, { threads: a.threads });
  if (a.bias) applyBias(logits, test.n, net.spec.classes, a.bias);
  return summarise(argmaxRows(logits, test.n, net.spec.classes), test.y, net.spec.classes);
}

export function registerEval(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  program
    .command('eval')
    .description("evaluate a model on the data's test split")
    .requiredOption('--model <file.onnx>', 'a model saved by dk train or dk distill')
    .option('--data <mnist|DIR>', "dataset: 'mnist' or an MNIST-style directory", 'mnist')
    .option('--bias <c=x,…>', 'add offsets to class logits before the argmax, e.g. 3=+3.5', parseBias)
    .option('--threads <n>', 'onnxruntime threads', num('threads', { min: 1, int: true }))
    .option('--specialists <DIR>', 'evaluate the generalist (--model) combined with the specialists in DIR (written by dk specialists)')
    .option('--top-n <n>', "with --specialists: the generalist's top-n classes activate specialists (default 2; the paper used 1)", num('top-n', { min: 1, int: true }))
    .option('--json', 'print the result as JSON', false)
    .action(async (f: { model: string; data: string; bias?: Record<number, number>; threads?: number; json: boolean; specialists?: string; topN?: number }) => {
      if (f.topN !== undefined && f.specialists === undefined) throw new UsageError('--top-n: only applies with --specialists DIR');
      if (f.bias && f.specialists !== undefined) throw new UsageError('--bias: cannot be combined with --specialists');
      const res = (await run('eval', { model: f.model, data: f.data, bias: f.bias, threads: f.threads, specialists: f.specialists, topN: f.topN } satisfies EvalJobArgs)) as EvalSummary | SpecialistsEvalResult;
      if ('kind' in res) {
        printSpecialists(res, f.json);
        return;
      }
      const r = res;
      if (f.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(`test errors ${r.errors}/${r.total}, accuracy ${(100 * r.accuracy).toFixed(2)}%\n`);
        process.stdout.write(`per class: ${r.perClass.map((a, k) => `${k}:${(100 * a).toFixed(1)}%`).join(' ')}\n`);
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
