/** `dk train`: train a model on a dataset and save it as a standalone .onnx inference graph. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Dataset } from '../../data/dataset.js';
import { holdoutSplit } from '../../data/subset.js';
import type { ModelOptions } from '../../nn/spec.js';
import { SPEC_FLAG_HELP, SPEC_HELP } from '../spec-help.js';
import { type OptimConfig, DEFAULT_OPTIM } from '../../optim/optimizers.js';
import type { ScheduleKind } from '../../optim/schedule.js';
import { type CheckpointConfig, type TrainConfig, DEFAULT_TRAIN, validateTrainConfig } from '../../train/config.js';
import { CheckpointError, diffKeys, listCheckpoints, readCheckpoint } from '../../train/checkpoint.js';
import type { EvalSummary } from '../../train/evaluate.js';
import type { EpochEvent } from '../../train/trainer.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { trainingProgress } from '../../train/progress.js';
export { trainingProgress };
import { checkOutFile } from '../output.js';
import { choice, holdoutAmount, intOrAuto, num } from '../parse.js';
import { AUTO_WARMUP } from '../../optim/schedule.js';
import { addConfigFlag, effectiveConfigOf, installConfigHooks, runConfig } from '../config.js';
import { type RunReportOutcome, addReportFlags, dataOf, printReportOutcome, reportPathsFrom, settingsOf, writeRunReportSafely } from '../run-report.js';
import type { RunReportPaths } from '../../report/run-write.js';
import { type ImageFlags, DATA_HELP, addImageFlags, imageFlagsFrom, layoutOption, checkImageFlagsApply } from '../data.js';

/** `autoWarmup`: --warmup also takes 'auto' (the default): AUTO_WARMUP, resolved once the transfer set is known. */
export function addTrainingFlags(cmd: Command, defaults: Partial<TrainConfig> = {}, opts: { autoWarmup?: boolean } = {}): Command {
  const d = { ...DEFAULT_TRAIN, ...defaults };
  cmd
    .option('--data <mnist|DIR>', DATA_HELP, 'mnist')
    .option('--epochs <n>', 'training epochs', num('epochs', { min: 1, int: true }), d.epochs)
    .option('--batch <n>', 'batch size', num('batch', { min: 1, int: true }), d.batch)
    .option('--optimizer <kind>', 'sgd | adam | adamw', choice('optimizer', ['sgd', 'adam', 'adamw'] as const), d.optim.kind)
    .option('--lr <x>', 'learning rate', num('lr', { min: 0, minExclusive: true }), d.lr)
    .option('--schedule <kind>', 'learning-rate schedule: constant | cosine | step | exp', choice('schedule', ['constant', 'cosine', 'step', 'exp'] as const), d.schedule.kind)
    .option('--gamma <x>', 'decay factor for the step/exp schedules', num('gamma', { min: 0, max: 1, minExclusive: true }))
    .option('--step-epochs <n>', 'epochs between decays (step schedule)', num('step-epochs', { min: 1, int: true }))
    .option(
      opts.autoWarmup ? '--warmup <steps|auto>' : '--warmup <steps>',
      opts.autoWarmup ? `linear warm-up steps; 'auto': ${100 * AUTO_WARMUP.fraction}% of the steps, at most ${AUTO_WARMUP.maxSteps} (0: none)` : 'linear warm-up steps',
      opts.autoWarmup ? intOrAuto('warmup') : num('warmup', { min: 0, int: true }),
      opts.autoWarmup ? 'auto' : 0,
    )
    .option('--momentum <x>', 'SGD momentum', num('momentum', { min: 0, max: 0.999 }), d.optim.momentum)
    .option('--nesterov', 'Nesterov momentum', false)
    .option('--weight-decay <x>', 'L2 weight decay (decoupled for adamw)', num('weight-decay', { min: 0 }), 0)
    .option('--max-norm <x>', 'max-norm constraint on incoming weight vectors (0 = off)', num('max-norm', { min: 0 }), 0)
    .option('--dropout <p>', 'dropout on hidden layers', num('dropout', { min: 0, max: 0.99 }), 0)
    .option('--input-dropout <p>', 'dropout on the input', num('input-dropout', { min: 0, max: 0.99 }), 0)
    .option('--batchnorm', 'BatchNorm after hidden layers', false)
    .option('--jitter <px>', 'random input shifts of up to this many pixels', num('jitter', { min: 0, int: true }), 0)
    .option('--seed <n>', 'random seed', num('seed', { int: true, min: 0 }), 1)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', num('threads', { min: 1, int: true }))
    .option(
      '--replicas <n|auto>',
      "data-parallel replicas of the training step, each on a shard of the batch with threads/n threads (auto: one per thread for convolutional students without BatchNorm, shards of ≥ 32 rows; else 1). The step is the same up to float rounding; keep it and --threads for bitwise-repeatable runs",
      intOrAuto('replicas', 1),
    )
    .option('--force', 'replace an existing output file', false)
    .option('--checkpoint-dir <DIR>', 'write checkpoints (weights, optimiser and RNG state, data order, config) into DIR at the end of every epoch')
    .option('--checkpoint-every <steps>', 'also checkpoint every this many steps (needs --checkpoint-dir or --resume)', num('checkpoint-every', { min: 1, int: true }))
    .option('--resume <DIR>', 'continue the run checkpointed in DIR (same flags; gives bitwise the same result as an uninterrupted run)')
    .addHelpText('after', '\nConfig files: --config run.json sets any flag (keys are flag names without dashes, e.g. {"lr": 0.1, "weight-decay": 0}); flags on the command line win. The effective config is saved as <out>.config.json; --config-schema prints the schema.');
  addImageFlags(cmd);
  addConfigFlag(cmd);
  installConfigHooks(cmd);
  return cmd;
}

export interface CommonFlags {
  data: string;
  imageSize?: string;
  channels?: 1 | 3;
  cacheDir?: string;
  cache?: boolean;
  epochs: number;
  batch: number;
  optimizer: OptimConfig['kind'];
  lr: number;
  schedule: ScheduleKind;
  gamma?: number;
  stepEpochs?: number;
  /** 'auto' only where addTrainingFlags was given autoWarmup. */
  warmup: number | 'auto';
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  maxNorm: number;
  dropout: number;
  inputDropout: number;
  batchnorm: boolean;
  jitter: number;
  seed: number;
  threads?: number;
  replicas?: number | 'auto';
  force: boolean;
  checkpointDir?: string;
  checkpointEvery?: number;
  resume?: string;
  config?: string;
}

/**
 * The checkpoint settings from the flags: `--resume DIR` continues (and keeps checkpointing
 * into) DIR; `--checkpoint-dir DIR` starts afresh and refuses a DIR that already holds
 * checkpoints unless --force. On resume the effective config stored in DIR's checkpoints is
 * compared with this run's first, so a changed flag is refused before any work, naming it.
 */
export function checkpointFrom(f: CommonFlags, run?: Record<string, unknown>): CheckpointConfig | undefined {
  if (f.checkpointEvery !== undefined && !f.checkpointDir && !f.resume) throw new UsageError('--checkpoint-every: needs --checkpoint-dir DIR (or --resume DIR)');
  if (f.resume !== undefined) {
    if (f.checkpointDir !== undefined && resolve(f.checkpointDir) !== resolve(f.resume)) {
      throw new UsageError(`--checkpoint-dir ${f.checkpointDir}: differs from --resume ${f.resume}; a resumed run keeps checkpointing into the directory it resumes from`);
    }
    const dir = f.resume;
    if (!existsSync(dir)) throw new UsageError(`--resume ${dir}: directory does not exist`);
    if (!statSync(dir).isDirectory()) throw new UsageError(`--resume ${dir}: is a file, expected a checkpoint directory`);
    if (run) {
      for (const file of listCheckpoints(dir)) {
        let saved: unknown;
        try {
          saved = readCheckpoint(join(dir, file)).header.run;
        } catch (e) {
          if (e instanceof CheckpointError) continue; // the trainer falls back or reports it
          throw e;
        }
        if (saved === undefined) continue;
        const diff = diffKeys(saved, run);
        if (diff.length) throw new UsageError(`--resume ${dir}: this run's flags differ from the checkpointed run's in ${diff.join(', ')}; resume with the original flags or start a new run`);
        break;
      }
    }
    return { dir, every: f.checkpointEvery, resume: true, run };
  }
  if (f.checkpointDir !== undefined) {
    const dir = f.checkpointDir;
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new UsageError(`--checkpoint-dir ${dir}: is a file, expected a directory`);
      if (listCheckpoints(dir).length > 0 && !f.force) throw new UsageError(`--checkpoint-dir ${dir}: already holds checkpoints; pass --resume ${dir} to continue that run, or --force to start over`);
    } else if (!existsSync(dirname(resolve(dir)))) throw new UsageError(`--checkpoint-dir ${dir}: parent directory ${dirname(resolve(dir))} does not exist`);
    return { dir, every: f.checkpointEvery, run };
  }
  return undefined;
}

export function trainConfigFrom(f: CommonFlags, extra: Partial<TrainConfig> = {}): TrainConfig {
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN,
    epochs: f.epochs,
    batch: f.batch,
    lr: f.lr,
    schedule: { kind: f.schedule, gamma: f.gamma, stepEpochs: f.stepEpochs, warmupSteps: f.warmup === 'auto' ? 0 : f.warmup },
    optim: { ...DEFAULT_OPTIM, kind: f.optimizer, momentum: f.optimizer === 'sgd' ? f.momentum : 0, nesterov: f.nesterov, weightDecay: f.weightDecay, maxNorm: f.maxNorm },
    jitter: f.jitter,
    seed: f.seed,
    ...extra,
  };
  const eff = effectiveConfigOf(f);
  const checkpoint = checkpointFrom(f, eff ? runConfig(eff) : undefined);
  if (checkpoint) cfg.checkpoint = checkpoint;
  try {
    validateTrainConfig(cfg);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return cfg;
}

export function modelOptionsFrom(f: CommonFlags): ModelOptions {
  return { dropout: f.dropout, inputDropout: f.inputDropout, batchNorm: f.batchnorm };
}

/** One epoch as the train and distill jobs report it (evals[0]: the held-out split, with --holdout). */
export interface HistoryRow {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  testErrors?: number;
  heldOutErrors?: number;
  seconds: number;
  samplesPerSec: number;
}

export function historyRows(history: readonly EpochEvent[]): HistoryRow[] {
  return history.map((h) => ({ epoch: h.epoch, loss: h.loss, trainAccuracy: h.trainAccuracy, testErrors: h.test?.errors, heldOutErrors: h.evals?.[0]?.errors, seconds: h.seconds, samplesPerSec: h.samplesPerSec }));
}

export interface TrainJobArgs {
  model: string;
  data: string;
  /** Image-folder options for `data`. */
  images?: ImageFlags;
  /** Train on the rest and score each epoch on this many training examples (or fraction), the split dk distill/bias --holdout draw with the same seed. */
  holdout?: number;
  options: ModelOptions;
  train: TrainConfig;
  threads?: number;
  /** Data-parallel replicas of the step (RuntimeOptions.replicas; default 'auto'). */
  replicas?: number | 'auto';
  /** Input layout of the saved model (default nchw). */
  layout?: 'nchw' | 'nhwc';
  out: string;
  /** Where to write the run report (null or absent: none). */
  report?: RunReportPaths | null;
}

export interface TrainJobResult {
  out: string;
  parameters: number;
  seconds: number;
  test?: EvalSummary;
  /** On the held-out split (with --holdout), after the last epoch. */
  heldOut?: EvalSummary;
  history: HistoryRow[];
  report?: RunReportOutcome;
}

export async function trainJob(a: TrainJobArgs, progress: ProgressSink): Promise<TrainJobResult> {
  const [{ openData }, { createStudent }, { trainNetwork }, { nhwcLayout }, { replicaPlan }] = await Promise.all([
    import('../../data/load.js'),
    import('../../train/student.js'),
    import('../../train/trainer.js'),
    import('../../train/network.js'),
    import('../../train/replicas.js'),
  ]);
  const split = await openData(a.data, { ...a.images, progress });
  const net = createStudent(a.model, split.train.shape, split.train.classes, a.options, a.train.seed);
  replicaPlan(net, a.train.batch, a.replicas ?? 'auto', a.threads); // a replica count this model cannot take fails before any output
  if (split.train.classNames) net.classNames = split.train.classNames;
  if (a.layout === 'nhwc') {
    if (net.imported) throw new UsageError(`--layout nhwc: an ONNX student (${a.model}) keeps the input layout of its file`);
    net.exportLayout = nhwcLayout(split.train.shape);
  }
  progress({ kind: 'log', text: `model ${a.model}: ${net.module.describe(net.spec.inputShape)} (${net.parameterCount.toLocaleString('en')} parameters)` });
  let data = split.train;
  let heldOut: Dataset | undefined;
  if (a.holdout !== undefined) {
    ({ train: data, holdout: heldOut } = holdoutSplit(split.train, a.holdout, a.train.seed));
    progress({ kind: 'log', text: `training on ${data.n.toLocaleString('en')} examples; ${heldOut.n.toLocaleString('en')} held out (seed ${a.train.seed}) and scored after each epoch` });
  }
  const res = await trainNetwork(net, data, a.train, {
    test: split.test,
    evalSets: heldOut ? [heldOut] : undefined,
    runtime: { threads: a.threads, replicas: a.replicas },
    onEvent: trainingProgress(progress, 'train', a.train.epochs, ['held-out']),
    onLog: (text) => progress({ kind: 'log', text }),
  });
  writeFileAtomic(a.out, net.toOnnx());
  const last = res.history[res.history.length - 1];
  const report = a.report
    ? await writeRunReportSafely(a.report, { kind: 'train', model: a.out, spec: net.spec.spec, layout: a.layout, ...dataOf(split, data.n, heldOut?.n, a.data), settings: settingsOf(a.train, false), history: res.history, seconds: res.seconds, runtime: { threads: a.threads } }, progress)
    : undefined;
  return {
    out: a.out,
    parameters: net.parameterCount,
    seconds: res.seconds,
    test: last.test,
    heldOut: last.evals?.[0],
    history: historyRows(res.history),
    report,
  };
}

export function registerTrain(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  const cmd = program
    .command('train')
    .description('train a model on a dataset and save it as a standalone .onnx file')
    .requiredOption('--model <spec>', SPEC_FLAG_HELP)
    .requiredOption('--out <file.onnx>', 'where to save the trained model')
    .option('--holdout <n>', 'train on the rest; score the model on n training examples (or a fraction) after each epoch — the split dk distill/bias --holdout n draw with the same --seed', holdoutAmount());
  addReportFlags(addTrainingFlags(cmd).addOption(layoutOption())).addHelpText('after', SPEC_HELP);
  cmd.action(async (f: CommonFlags & { model: string; out: string; holdout?: number; layout: 'nchw' | 'nhwc'; report?: string | boolean }) => {
    const out = checkOutFile(f.out, f.force);
    const report = reportPathsFrom(f.report, out, f.force);
    const args: TrainJobArgs = { model: f.model, data: f.data, images: imageFlagsFrom(f), holdout: f.holdout, options: modelOptionsFrom(f), train: trainConfigFrom(f), threads: f.threads, replicas: f.replicas, layout: f.layout, out, report };
    // Validate the spec here too, for an immediate error.
    const { isModelFile, parseSpec } = await import('../../nn/spec.js');
    if (!isModelFile(f.model)) parseSpec(f.model);
    await checkImageFlagsApply(args.images!, f.data);
    const r = (await run('train', args)) as TrainJobResult;
    const t = r.test;
    const h = r.heldOut;
    process.stdout.write(
      `saved ${r.out} (${r.parameters.toLocaleString('en')} parameters, ${r.seconds.toFixed(1)} s)${h ? `; held-out errors ${h.errors}/${h.total}` : ''}${t ? `; test errors ${t.errors}/${t.total}, accuracy ${(100 * t.accuracy).toFixed(2)}%` : ''}\n`,
    );
    printReportOutcome(r.report);
  });
}
