/**
 * The specialists experiment of the paper job (Hinton, Vinyals & Dean 2015, §5, on MNIST): a
 * deliberately small generalist, so that it makes real confusions; groups of confusable classes
 * from k-means on the covariance of its soft outputs; dustbin specialists trained in worker
 * threads (or as jobs on the paper job's queue); the KL combination on the test set, with the
 * paper's Table-4 breakdown.
 */
import type { Dataset } from '../data/dataset.js';
import { modelInputShape } from '../nn/spec.js';
import { buildSpecialists } from '../specialists/pipeline.js';
import { evaluateSpecialists } from '../specialists/infer.js';
import { Network } from '../train/network.js';
import { trainingProgress } from '../train/progress.js';
import { type TrainConfig, trainNetwork } from '../train/trainer.js';
import type { SpecialistsRun } from '../report/schema.js';
import type { ProgressSink } from '../util/progress.js';
import { cpus } from 'node:os';

export interface SpecialistsExperiment {
  generalist: string;
  generalistEpochs: number;
  groupsPerRun: number[];
  runs: number;
  epochs: number;
  /** T of the soft outputs used for the covariance. */
  temperature: number;
}

export async function specialistsExperiment(
  e: SpecialistsExperiment,
  train: Dataset,
  test: Dataset,
  base: TrainConfig,
  threads: number | undefined,
  progress: ProgressSink,
  /** Train the specialists as jobs on this queue; finished ones kept in `keepDir` for a rerun; stop when `signal` aborts. */
  queue?: { url: string; signal: AbortSignal; keepDir: string } | null,
): Promise<SpecialistsRun> {
  const C = train.classes;
  const gen = Network.create({ spec: e.generalist, inputShape: modelInputShape(e.generalist, train.shape), classes: C, options: {} }, base.seed);
  await trainNetwork(gen, train, { ...base, epochs: e.generalistEpochs, loss: 'hard' }, { runtime: { threads }, onEvent: trainingProgress(progress, 'generalist', e.generalistEpochs) });
  const workers = Math.min(2, cpus().length);
  const built = await buildSpecialists({
    generalist: gen.toOnnx(),
    generalistName: e.generalist,
    train,
    temperature: e.temperature,
    // The paper's grouping: k-means on the covariance of the generalist's soft outputs (§5).
    grouping: { search: 'paper', runs: e.runs, groupsPerRun: e.groupsPerRun, seed: base.seed },
    config: { ...base, epochs: e.epochs, alpha: 0 },
    workers,
    threads,
    progress,
    ...(queue ? { redis: queue.url, keepDir: queue.keepDir, signal: queue.signal, rerun: 'rerun with --resume to continue' } : {}),
  });
  const specialists = built.files.map((f, i) => ({ entry: built.manifest.specialists[i], network: Network.fromOnnx(f.bytes, f.name) }));
  const out = await evaluateSpecialists({ generalist: gen, specialists, data: test, runtime: { threads } });
  const ev = out.evaluation;
  return {
    dataset: 'mnist',
    description: `generalist ${e.generalist} (${e.generalistEpochs} epochs); ${built.groups.length} specialists (${e.epochs} epochs each, dustbin bias log of the oversampling factor); top-2 activation, KL combination`,
    generalistArch: e.generalist,
    testSize: test.n,
    groups: built.groups,
    generalist: ev.generalist,
    combined: ev.combined,
    coverage: ev.coverage.map((r) => ({ covering: r.covering, examples: r.examples, deltaCorrect: r.deltaCorrect, relativeChange: r.relativeChange ?? 0 })),
    trainSeconds: [{ workers, seconds: built.seconds.training }],
  };
}
