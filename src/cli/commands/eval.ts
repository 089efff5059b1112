/** `dk eval`: evaluate a saved model on a dataset's test split; optional per-class bias offsets. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadData } from '../../data/load.js';
import { Network } from '../../train/network.js';
import { type EvalSummary, argmaxRows, networkLogits, summarise } from '../../train/evaluate.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { num } from '../parse.js';

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
}

export async function evalJob(a: EvalJobArgs, _progress: ProgressSink): Promise<EvalSummary> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(a.model);
  } catch (e) {
    throw new UsageError(`--model ${a.model}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const net = Network.fromOnnx(bytes, a.model);
  const { test } = loadData(a.data);
  if (test.classes > net.spec.classes) throw new UsageError(`--model ${a.model}: outputs ${net.spec.classes} classes but the data has ${test.classes}`);
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
    .option('--json', 'print the result as JSON', false)
    .action(async (f: { model: string; data: string; bias?: Record<number, number>; threads?: number; json: boolean }) => {
      const r = (await run('eval', { model: f.model, data: f.data, bias: f.bias, threads: f.threads } satisfies EvalJobArgs)) as EvalSummary;
      if (f.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(`test errors ${r.errors}/${r.total}, accuracy ${(100 * r.accuracy).toFixed(2)}%\n`);
        process.stdout.write(`per class: ${r.perClass.map((a, k) => `${k}:${(100 * a).toFixed(1)}%`).join(' ')}\n`);
      }
    });
}
