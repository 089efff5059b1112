/**
 * From a generalist to a set of trained specialists: the generalist's logits on the training
 * set → confusable groups (several k-means runs on the class covariance of its tempered soft
 * outputs) → the generalist's confusion counts inside each group → one specialist per group,
 * trained in parallel → the manifest and the files to write.
 */
import type { Dataset } from '../data/dataset.js';
import { argmaxRows, networkLogits } from '../train/evaluate.js';
import { Network } from '../train/network.js';
import type { TrainConfig } from '../train/trainer.js';
import type { ModelOptions } from '../nn/spec.js';
import { UsageError } from '../util/errors.js';
import { type ProgressSink, silent } from '../util/progress.js';
import {
  type ConfusableGroupsOptions,
  type GroupConfusion,
  classCovariance,
  confusableGroups,
  confusionMatrix,
  groupConfusions,
  softOutputs,
} from './confusability.js';
import { MANIFEST_VERSION, type SpecialistsManifest, sha256Hex, specialistEntry } from './manifest.js';
import type { DustbinInit } from './dustbin.js';
import { type SpecialistJobResult, trainSpecialists } from './workers.js';

export interface BuildSpecialistsOptions {
  /** The generalist as .onnx bytes (a dark-knowledge model, so its weights can be copied). */
  generalist: Uint8Array;
  /** File name recorded in the manifest (informational). */
  generalistName?: string;
  /** Training data, labels 0..C−1. */
  train: Dataset;
  /** Optional: the folded test task is reported after each specialist epoch (progress only). */
  test?: Dataset;
  /** T of the soft outputs for the covariance and of the specialists' soft targets. */
  temperature: number;
  /** k-means runs, groups per run, size limits, seed (see confusableGroups); maxSize defaults to ⌊C/2⌋. */
  grouping: ConfusableGroupsOptions;
  /** Specialist training; `temperature` is overwritten by the one above. */
  config: TrainConfig;
  groupShare?: number;
  workers?: number;
  threads?: number;
  dropout?: Pick<ModelOptions, 'dropout' | 'inputDropout'>;
  dustbinInit?: DustbinInit;
  progress?: ProgressSink;
}

export interface BuiltSpecialists {
  manifest: SpecialistsManifest;
  /** Specialist files to write next to manifest.json, in manifest order. */
  files: { name: string; bytes: Uint8Array }[];
  groups: number[][];
  /** The generalist's confusion counts (training set) inside each group. */
  confusions: GroupConfusion[];
  results: SpecialistJobResult[];
  /** The generalist's training-set errors (for the printout). */
  generalistTrainErrors: number;
  seconds: { generalist: number; grouping: number; training: number };
}

/** Specialist file name for the i-th group. */
export function specialistFileName(i: number): string {
  return `specialist-${i}.onnx`;
}

export async function buildSpecialists(o: BuildSpecialistsOptions): Promise<BuiltSpecialists> {
  const progress = o.progress ?? silent;
  const name = o.generalistName ?? 'the generalist';
  const generalist = Network.fromOnnx(o.generalist, name);
  const C = generalist.spec.classes;
  if (o.train.classes > C) throw new UsageError(`${name} outputs ${C} classes but the data has ${o.train.classes}`);
  if (!(o.temperature > 0 && Number.isFinite(o.temperature))) throw new UsageError(`temperature must be a number > 0, got ${o.temperature}`);

  let t = performance.now();
  progress({ kind: 'log', text: `generalist: ${generalist.module.describe(generalist.spec.inputShape)}, ${C} classes; computing its outputs on ${o.train.n} training examples` });
  const logits = await networkLogits(generalist, o.train, { threads: o.threads });
  const tGen = (performance.now() - t) / 1000;

  t = performance.now();
  const cov = classCovariance(softOutputs({ logits, temperature: o.temperature }, C), C);
  // A group of more than half the classes is no specialty (k-means on the covariance tends to
  // leave one big "everything else" cluster); such groups are dropped unless asked for.
  const grouping: ConfusableGroupsOptions = { ...o.grouping, maxSize: o.grouping.maxSize ?? Math.max(o.grouping.minSize ?? 2, Math.floor(C / 2)) };
  let groups: number[][];
  try {
    groups = confusableGroups(cov, C, grouping);
  } catch (e) {
    if (e instanceof RangeError) {
      // Name the CLI's flags rather than the library's options.
      const flags: Record<string, string> = { groupsPerRun: '--groups', minSize: '--min-size', maxSize: '--max-size', runs: '--runs' };
      throw new UsageError(e.message.replace(/^confusableGroups: /, '').replace(/options\.(\w+)/g, (_m, k: string) => flags[k] ?? k));
    }
    throw e;
  }
  if (groups.length === 0) {
    throw new UsageError(`no group of confusable classes within the size limits [${grouping.minSize ?? 2}, ${grouping.maxSize}]; try another --groups or wider --min-size/--max-size`);
  }
  const pred = argmaxRows(logits, o.train.n, C);
  const confusion = confusionMatrix(o.train.y, pred, C);
  let trainErrors = 0;
  for (let i = 0; i < o.train.n; i++) if (pred[i] !== o.train.y[i]) trainErrors++;
  const confusions = groupConfusions(confusion, C, groups);
  const tGroup = (performance.now() - t) / 1000;
  progress({ kind: 'log', text: `found ${groups.length} group(s): ${groups.map((g) => `{${g.join(',')}}`).join(' ')}` });

  t = performance.now();
  const config: TrainConfig = { ...o.config, temperature: o.temperature };
  const results = await trainSpecialists({
    generalist: o.generalist,
    groups,
    train: o.train,
    generalistLogits: logits,
    test: o.test,
    config,
    groupShare: o.groupShare,
    workers: o.workers,
    threads: o.threads,
    dropout: o.dropout,
    dustbinInit: o.dustbinInit,
    progress,
  });
  const tTrain = (performance.now() - t) / 1000;

  const files = results.map((r, i) => ({ name: specialistFileName(i), bytes: r.onnx }));
  const manifest: SpecialistsManifest = {
    version: MANIFEST_VERSION,
    generalist: { ...(o.generalistName ? { file: o.generalistName } : {}), sha256: sha256Hex(o.generalist) },
    classes: C,
    temperature: o.temperature,
    groups,
    specialists: results.map((r, i) =>
      specialistEntry({
        file: files[i].name,
        sha256: sha256Hex(r.onnx),
        group: r.group,
        classes: C,
        oversamplingFactor: r.oversamplingFactor,
        dustbinBias: r.dustbinBias,
        epochs: r.epochs,
        seed: r.seed,
      }),
    ),
  };
  return { manifest, files, groups, confusions, results, generalistTrainErrors: trainErrors, seconds: { generalist: tGen, grouping: tGroup, training: tTrain } };
}
