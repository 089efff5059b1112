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
import { type GroupConfusion, confusionMatrix, groupConfusions, softOutputs } from './confusability.js';
import { type GroupSearchOptions, DEFAULT_GROUP_SEARCH, searchGroups } from './group-search.js';
import { holdoutSplit } from '../data/subset.js';
import { softmaxRows } from '../util/softmax.js';
import { type HeldOutChoice, chooseOnHoldout } from './select.js';
import { DEFAULT_TOP_N } from './infer.js';
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
  /** The group search (robust by default, or the paper's k-means), size limits, k-means runs, groups per run, seed (see searchGroups); maxSize defaults to ⌊C/2⌋. */
  grouping: Omit<GroupSearchOptions, 'confusion'>;
  /**
   * Hold out this many training examples (a count, or a fraction in (0,1); the split
   * holdoutSplit draws with config.seed): groups are found and specialists trained on the
   * rest, and only the specialists that lower the combination's errors on the held-out
   * examples are kept (chooseOnHoldout, src/specialists/select.ts).
   */
  holdout?: number;
  /** Generalist's top-n that activate specialists in the held-out choice; default DEFAULT_TOP_N (as dk eval). */
  topN?: number;
  /** Specialist training; `temperature` is overwritten by the one above. */
  config: TrainConfig;
  groupShare?: number;
  workers?: number;
  threads?: number;
  dropout?: Pick<ModelOptions, 'dropout' | 'inputDropout'>;
  dustbinInit?: DustbinInit;
  progress?: ProgressSink;
  /** Train the specialists as jobs on this Redis queue (see trainSpecialists); the same bytes as a local run. */
  redis?: string;
  /** With `redis`: where finished specialists are kept for a rerun (see trainSpecialists). */
  keepDir?: string | null;
  /** With `redis`: stop waiting for the jobs when this aborts; `rerun`: how to continue after losing Redis (see trainSpecialists). */
  signal?: AbortSignal;
  rerun?: string;
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
  /** Examples the groups were found and the specialists trained on (all of train, or the rest after the holdout). */
  fitExamples: number;
  /** The held-out choice (with `holdout`): every candidate's verdict; `results`/`manifest` hold the kept ones only. */
  selection?: HeldOutChoice;
  /** The group search used. */
  search: string;
  seconds: { generalist: number; grouping: number; training: number; selection?: number };
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

  const split = o.holdout !== undefined ? holdoutSplit(o.train, o.holdout, o.config.seed) : null;
  const train = split ? split.train : o.train;
  let t = performance.now();
  progress({ kind: 'log', text: `generalist: ${generalist.module.describe(generalist.spec.inputShape)}, ${C} classes; computing its outputs on ${train.n} training examples${split ? ` (${split.holdout.n} more held out)` : ''}` });
  const logits = await networkLogits(generalist, train, { threads: o.threads });
  const tGen = (performance.now() - t) / 1000;

  t = performance.now();
  const P = softOutputs({ logits, temperature: o.temperature }, C);
  const pred = argmaxRows(logits, train.n, C);
  const confusion = confusionMatrix(train.y, pred, C);
  // A group of more than half the classes is no specialty (k-means on the covariance tends to
  // leave one big "everything else" cluster); such groups are dropped unless asked for.
  const grouping: GroupSearchOptions = { ...o.grouping, maxSize: o.grouping.maxSize ?? Math.max(o.grouping.minSize ?? 2, Math.floor(C / 2)) };
  let groups: number[][];
  try {
    groups = searchGroups(P, C, { ...grouping, confusion });
  } catch (e) {
    if (e instanceof RangeError) {
      // The options as parameters ({name}), which the CLI words as its flags (src/cli/flags.ts).
      throw new UsageError({ detail: e.message.replace(/^(confusableGroups|robustGroups): /, '').replace(/options\.(\w+)/g, (_m, k: string) => `{${k}}`) });
    }
    throw e;
  }
  if (groups.length === 0) {
    throw new UsageError({
      detail: `no group of confusable classes within the size limits [${grouping.minSize ?? 2}, ${grouping.maxSize}]; try ${(grouping.search ?? DEFAULT_GROUP_SEARCH) === 'robust' ? 'a lower {strength}' : 'another {groupsPerRun}'} or a wider {minSize}/{maxSize}`,
    });
  }
  let trainErrors = 0;
  for (let i = 0; i < train.n; i++) if (pred[i] !== train.y[i]) trainErrors++;
  const tGroup = (performance.now() - t) / 1000;
  progress({ kind: 'log', text: `found ${groups.length} group(s): ${groups.map((g) => `{${g.join(',')}}`).join(' ')}` });

  t = performance.now();
  const config: TrainConfig = { ...o.config, temperature: o.temperature };
  const trained = await trainSpecialists({
    generalist: o.generalist,
    groups,
    train,
    generalistLogits: logits,
    test: o.test,
    config,
    groupShare: o.groupShare,
    workers: o.workers,
    threads: o.threads,
    dropout: o.dropout,
    dustbinInit: o.dustbinInit,
    progress,
    redis: o.redis,
    keepDir: o.keepDir,
    signal: o.signal,
    rerun: o.rerun,
  });
  const tTrain = (performance.now() - t) / 1000;

  let results = trained;
  let selection: HeldOutChoice | undefined;
  let tSel: number | undefined;
  if (split) {
    t = performance.now();
    const held = split.holdout;
    const pg = softmaxRows(await networkLogits(generalist, held, { threads: o.threads }), held.n, C);
    const candidates = [];
    for (const r of trained) {
      const K = r.group.length + 1;
      const net = Network.fromOnnx(r.onnx, `specialist {${r.group.join(',')}}`);
      candidates.push({ group: r.group, probs: softmaxRows(await networkLogits(net, held, { threads: o.threads }), held.n, K) });
    }
    selection = chooseOnHoldout(held.y, pg, C, candidates, o.topN ?? DEFAULT_TOP_N);
    tSel = (performance.now() - t) / 1000;
    for (const v of selection.verdicts) progress({ kind: 'log', text: `held-out choice: {${v.group.join(',')}} ${v.kept ? 'kept' : 'dropped'} — ${v.reason}` });
    if (selection.kept.length === 0) {
      throw new UsageError(
        `no specialist lowered the errors on the ${held.n} held-out examples (generalist: ${selection.generalistErrors}); nothing written. ` +
          selection.verdicts.map((v) => `{${v.group.join(',')}}: ${v.reason}`).join('; '),
      );
    }
    results = selection.kept.map((i) => trained[i]);
    groups = results.map((r) => r.group);
  }

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
  const confusions = groupConfusions(confusion, C, groups);
  return {
    manifest,
    files,
    groups,
    confusions,
    results,
    generalistTrainErrors: trainErrors,
    fitExamples: train.n,
    selection,
    search: grouping.search ?? DEFAULT_GROUP_SEARCH,
    seconds: { generalist: tGen, grouping: tGroup, training: tTrain, ...(tSel !== undefined ? { selection: tSel } : {}) },
  };
}
