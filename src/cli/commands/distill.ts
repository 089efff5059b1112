/**
 * `dk distill`: train a student on a teacher's (or an ensemble's) tempered outputs and save it.
 * `dk bias`: pick an output-bias offset for some classes on held-out training data (never the
 * test set) and optionally save the adjusted model — the repair after a skewed transfer set.
 * Both run as the 'distill' job (one registry entry), told apart by `kind`.
 */
import type { Command } from 'commander';
import { biasGrid, errorsWithOffset, pickBiasOffset, withBiasOffset } from '../../distill/bias.js';
import { holdoutSplit } from '../../data/subset.js';
import { type EnsembleMode, type TeacherMode, type TeacherOutputs, ENSEMBLE_MODES, TEACHER_MODES, TEACHER_OUTPUTS } from '../../distill/modes.js';
import type { TransferOptions } from '../../distill/transfer.js';
import type { LossKind } from '../../nn/losses.js';
import type { ModelOptions } from '../../nn/spec.js';
import type { EvalSummary } from '../../train/evaluate.js';
import type { MixKind, TrainConfig } from '../../train/config.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { checkOutFile } from '../output.js';
import { SPEC_FLAG_HELP, SPEC_HELP } from '../spec-help.js';
import { choice, holdoutAmount, intList, num } from '../parse.js';
import { type CommonFlags, type HistoryRow, addTrainingFlags, historyRows, modelOptionsFrom, trainConfigFrom } from './train.js';
import { readUserFile } from '../../util/read.js';
import type { TeacherPrep } from '../../distill/modes.js';
import { addPrepFlags, perTeacherPrep, prepFlagsOf } from '../teacher-flags.js';
import { type RunReportOutcome, addReportFlags, dataOf, printReportOutcome, reportPathsFrom, settingsOf, writeRunReportSafely } from '../run-report.js';
import type { RunReportPaths } from '../../report/run-write.js';
import { type ImageFlags, type ImageFlagValues, DATA_HELP, cacheDirOption, channelsOption, imageFlagsFrom, imageSizeOption, layoutOption, noCacheOption, checkImageFlagsApply } from '../data.js';

export interface DistillJobArgs {
  kind: 'distill';
  teachers: string[];
  ensemble: EnsembleMode;
  teacherOutputs: TeacherOutputs;
  /** Per teacher: normalisation, layout, output name (--teacher-mean, --teacher-std, --teacher-layout, --teacher-output). */
  teacherPrep?: TeacherPrep[];
  /** Cached teacher outputs or the teacher run on every batch (default: online with --jitter). */
  teacherMode?: TeacherMode;
  student: string;
  options: ModelOptions;
  data: string;
  /** Image-folder options for `data` and `transferData`. */
  images?: ImageFlags;
  train: TrainConfig;
  transfer: TransferOptions;
  /** A transfer set apart from the data (a folder of unlabeled images, or a dataset). */
  transferData?: string;
  /** Input layout of the saved student (default nchw). */
  layout?: 'nchw' | 'nhwc';
  /** Warm up by AUTO_WARMUP (src/optim/schedule.ts) over the transfer set's steps. */
  autoWarmup?: boolean;
  cacheDir: string | null;
  threads?: number;
  /** Data-parallel replicas of the student's step (RuntimeOptions.replicas; default 'auto'). */
  replicas?: number | 'auto';
  /** Compute teacher outputs as jobs on this Redis queue (dk worker). */
  redis?: string;
  out: string;
  /** Where to write the run report (null or absent: none). */
  report?: RunReportPaths | null;
}

export interface DistillJobResult {
  out: string;
  parameters: number;
  seconds: number;
  test?: EvalSummary;
  /** On the held-out split (with --holdout), after the last epoch. */
  heldOut?: EvalSummary;
  teacherTest?: EvalSummary;
  teacherKinds: string[];
  fromCache: boolean;
  transfer: { n: number; labeled: boolean; description: string };
  history: HistoryRow[];
  report?: RunReportOutcome;
}

export interface BiasJobArgs {
  kind: 'bias';
  model: string;
  data: string;
  images?: ImageFlags;
  classes: number[];
  holdout: number;
  seed: number;
  candidates: number[];
  threads?: number;
  out?: string;
}

export interface BiasJobResult {
  offset: number;
  classes: number[];
  holdout: { n: number; before: number; after: number };
  test: { n: number; before: number; after: number };
  out?: string;
}

async function distillCommandJob(a: DistillJobArgs, progress: ProgressSink): Promise<DistillJobResult> {
  const { distill } = await import('../../distill/distill.js');
  const r = await distill({
    teachers: a.teachers,
    ensemble: a.ensemble,
    teacherOutputs: a.teacherOutputs,
    teacherPrep: a.teacherPrep,
    teacherMode: a.teacherMode,
    student: a.student,
    studentOptions: a.options,
    data: a.data,
    images: a.images,
    train: a.train,
    transfer: a.transfer,
    transferData: a.transferData,
    studentLayout: a.layout,
    autoWarmup: a.autoWarmup,
    cacheDir: a.cacheDir,
    runtime: { threads: a.threads, replicas: a.replicas },
    redis: a.redis,
    progress,
  });
  writeFileAtomic(a.out, r.student.toOnnx());
  const report = a.report
    ? await writeRunReportSafely(
        a.report,
        {
          kind: 'distill',
          model: a.out,
          spec: r.student.spec.spec,
          layout: a.layout,
          ...dataOf(r.data, r.transfer.n, r.heldOut?.total, a.data),
          transfer: r.transfer.description,
          settings: settingsOf(r.config, true),
          history: r.history,
          seconds: r.seconds.total,
          teacher: { files: a.teachers, prep: a.teacherPrep, ensemble: a.ensemble, testLogProbs: r.teacher.testLogProbs, T: r.config.temperature },
          runtime: { threads: a.threads },
        },
        progress,
      )
    : undefined;
  return {
    out: a.out,
    parameters: r.student.parameterCount,
    seconds: r.seconds.total,
    test: r.test,
    heldOut: r.heldOut,
    teacherTest: r.teacher.test,
    teacherKinds: r.teacher.kinds,
    fromCache: r.teacher.fromCache,
    transfer: r.transfer,
    history: historyRows(r.history),
    report,
  };
}

async function biasJob(a: BiasJobArgs, progress: ProgressSink): Promise<BiasJobResult> {
  const [{ openData }, { Network }, { networkLogits }] = await Promise.all([import('../../data/load.js'), import('../../train/network.js'), import('../../train/evaluate.js')]);
  const bytes = readUserFile(`--model ${a.model}`, a.model);
  const net = Network.fromOnnx(bytes, a.model);
  const { train, test } = await openData(a.data, { ...a.images, progress });
  const C = net.spec.classes;
  if (train.classes !== C) throw new UsageError(`--model ${a.model}: outputs ${C} classes but the data has ${train.classes}`);
  for (const c of a.classes) if (c >= C) throw new UsageError(`--classes: class ${c} is out of range; the model has classes 0..${C - 1}`);
  const held = holdoutSplit(train, a.holdout, a.seed).holdout;
  progress({ kind: 'log', text: `held-out split: ${held.n} training examples (seed ${a.seed}); choosing among ${a.candidates.length} offsets from ${a.candidates[0]} to ${a.candidates[a.candidates.length - 1]}` });
  const rt = { threads: a.threads };
  const pick = pickBiasOffset(await networkLogits(net, held, rt), held.y, a.classes, a.candidates);
  const zTest = await networkLogits(net, test, rt);
  const res: BiasJobResult = {
    offset: pick.offset,
    classes: a.classes,
    holdout: { n: held.n, before: pick.baseline, after: pick.errors },
    test: { n: test.n, before: errorsWithOffset(zTest, test.y, a.classes, 0), after: errorsWithOffset(zTest, test.y, a.classes, pick.offset) },
  };
  if (a.out) {
    writeFileAtomic(a.out, withBiasOffset(net, a.classes, pick.offset).toOnnx());
    res.out = a.out;
  }
  return res;
}

/** The registry entry: `dk distill` and `dk bias`. */
export async function distillJob(a: DistillJobArgs | BiasJobArgs, progress: ProgressSink): Promise<DistillJobResult | BiasJobResult> {
  return a.kind === 'bias' ? biasJob(a, progress) : distillCommandJob(a, progress);
}

interface DistillFlags extends CommonFlags {
  teacher: string;
  ensemble: EnsembleMode;
  teacherOutputs: TeacherOutputs;
  student: string;
  temperature: number;
  alpha: number;
  mix: MixKind;
  loss: Exclude<LossKind, 'hard'>;
  omitClasses?: number[];
  onlyClasses?: number[];
  fraction?: number;
  unlabeled: boolean;
  transfer?: string;
  layout: 'nchw' | 'nhwc';
  holdout?: number;
  teacherMode?: TeacherMode;
  cacheDir: string;
  cache: boolean;
  out: string;
}

/** Parse 'LO:HI:STEP' (e.g. -10:10:0.25) into a candidate grid. */
function parseRange(raw: string): number[] {
  const parts = raw.split(':').map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v)) || !(parts[2] > 0) || parts[1] < parts[0] || (parts[1] - parts[0]) / parts[2] > 100000) {
    throw new UsageError(`--range: expected LO:HI:STEP with LO ≤ HI and STEP > 0 (e.g. -10:10:0.25), got '${raw}'`);
  }
  return biasGrid(parts[0], parts[1], parts[2]);
}

export function registerDistill(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  const cmd = program
    .command('distill')
    .description("train a student on a teacher's (or an ensemble's) softened outputs and save it as .onnx")
    .requiredOption('--teacher <t.onnx[,t2.onnx…]>', 'teacher ONNX file(s): saved by dk train, or any classifier taking [N,D] or [N,C,H,W] input; several make an ensemble')
    .option('--ensemble <mean|geomean>', 'combine an ensemble by the mean of probabilities or the geometric mean', choice('ensemble', ENSEMBLE_MODES), 'mean')
    .option('--teacher-outputs <auto|logits|probs>', "what the teachers output ('auto' detects it and says so)", choice('teacher-outputs', TEACHER_OUTPUTS), 'auto')
    .option('--teacher-mode <cached|online>', "'cached': the teachers' outputs on the transfer set, computed once; 'online': the teachers run on every batch as the student sees it (jittered) — the default with --jitter", choice('teacher-mode', TEACHER_MODES));
  addPrepFlags(cmd, 'teacher-', 'the teacher')
    .requiredOption('--student <spec>', `student ${SPEC_FLAG_HELP}`)
    .option('--temperature <T>', 'softmax temperature for the soft targets', num('temperature', { min: 0, minExclusive: true }), 20)
    .option('--alpha <a>', 'weight of the soft loss: α·T²·soft + (1−α)·hard', num('alpha', { min: 0, max: 1 }), 0.9)
    .option('--mix <convex|alternate>', "'convex' mixes both losses in every batch; 'alternate' takes hard and soft batches in turn", choice('mix', ['convex', 'alternate'] as const), 'convex')
    .option('--loss <soft-ce|logit-mse>', 'soft cross-entropy at T (with T²), or matching centred logits by squared error (scaled 1/2C: the T → ∞ limit of the soft term)', choice('loss', ['soft-ce', 'logit-mse'] as const), 'soft-ce')
    .option('--omit-classes <c,…>', 'leave these classes out of the transfer set', intList('omit-classes'))
    .option('--only-classes <c,…>', 'keep only these classes in the transfer set', intList('only-classes'))
    .option('--fraction <f>', 'train on a stratified, seeded fraction of the transfer set', num('fraction', { min: 0, max: 1, minExclusive: true }))
    .option('--unlabeled', 'ignore the labels: soft loss only (α = 1)', false)
    .option('--transfer <DIR>', 'learn from this transfer set instead of the training split: a folder of images without labels (needs --alpha 1), or any dataset --data accepts (its training split)')
    .option('--holdout <n>', 'keep n training examples (or a fraction) out of the transfer set and score the student on them after each epoch; dk bias --holdout n with the same --seed picks offsets on them', holdoutAmount())
    .option('--cache-dir <dir>', 'where teacher outputs (and decoded image folders) are cached', '.dk-cache')
    .option('--no-cache', 'neither read nor write cached teacher outputs or decoded images')
    .option('--redis <url>', 'compute the cached teacher outputs as jobs on this Redis queue, run by `dk worker --redis URL` processes (same bytes as a local run)')
    .requiredOption('--out <student.onnx>', 'where to save the student');
  addReportFlags(addTrainingFlags(cmd, {}, { autoWarmup: true }).addOption(layoutOption())).addHelpText('after', SPEC_HELP);
  cmd.action(async (f: DistillFlags & { report?: string | boolean }) => {
    const out = checkOutFile(f.out, f.force);
    const report = reportPathsFrom(f.report, out, f.force);
    const { isModelFile, parseSpec } = await import('../../nn/spec.js');
    if (!isModelFile(f.student)) parseSpec(f.student);
    const redis = (f as { redis?: string }).redis;
    if (redis !== undefined) (await import('../../queue/redis.js')).connectionFor(redis, 'coordinator'); // the URL, before any work
    const teachers = f.teacher.split(',').map((s) => s.trim());
    if (teachers.some((t) => t === '')) throw new UsageError(`--teacher: expected comma-separated file names, got '${f.teacher}'`);
    const args: DistillJobArgs = {
      kind: 'distill',
      teachers,
      ensemble: f.ensemble,
      teacherOutputs: f.teacherOutputs,
      teacherPrep: perTeacherPrep(prepFlagsOf(f as unknown as Record<string, unknown>, 'teacher-'), teachers.length, 'teacher-'),
      teacherMode: f.teacherMode,
      student: f.student,
      options: modelOptionsFrom(f),
      data: f.data,
      images: imageFlagsFrom(f),
      transferData: f.transfer,
      layout: f.layout,
      train: trainConfigFrom(f, { loss: f.loss, temperature: f.temperature, alpha: f.alpha, mix: f.mix }),
      transfer: { omitClasses: f.omitClasses, onlyClasses: f.onlyClasses, fraction: f.fraction, unlabeled: f.unlabeled, holdout: f.holdout },
      autoWarmup: f.warmup === 'auto',
      cacheDir: f.cache ? f.cacheDir : null,
      threads: f.threads,
      replicas: f.replicas,
      redis,
      out,
      report,
    };
    await checkImageFlagsApply(args.images!, f.data, f.transfer);
    const r = (await run('distill', args)) as DistillJobResult;
    const t = r.test;
    const tt = r.teacherTest;
    const h = r.heldOut;
    process.stdout.write(
      `saved ${r.out} (${r.parameters.toLocaleString('en')} parameters, ${r.seconds.toFixed(1)} s)` +
        `${h ? `; held-out errors ${h.errors}/${h.total}` : ''}` +
        `${t ? `; test errors ${t.errors}/${t.total}, accuracy ${(100 * t.accuracy).toFixed(2)}%` : ''}` +
        `${tt ? `; teacher test errors ${tt.errors}/${tt.total}` : ''}\n`,
    );
    printReportOutcome(r.report);
  });

  program
    .command('bias')
    .description('pick an output-bias offset for some classes on held-out training data (never the test set); optionally save the adjusted model')
    .requiredOption('--model <file.onnx>', 'a model saved by dk train or dk distill')
    .requiredOption('--classes <c,…>', 'classes whose output bias gets the offset (e.g. 3, or 7,8)', intList('classes'))
    .option('--data <mnist|DIR>', DATA_HELP, 'mnist')
    .addOption(imageSizeOption())
    .addOption(channelsOption())
    .addOption(cacheDirOption())
    .addOption(noCacheOption())
    .option('--holdout <n>', 'size of the held-out split of the training set (a count, or a fraction in (0,1)); use the same value and --seed as dk distill --holdout', holdoutAmount(), 5000)
    .option('--seed <n>', 'seed of the held-out split', num('seed', { int: true, min: 0 }), 1)
    .option('--range <lo:hi:step>', 'candidate offsets', parseRange, biasGrid())
    .option('--out <file.onnx>', 'save the model with the chosen offset added to its output bias')
    .option('--force', 'replace an existing output file', false)
    .option('--threads <n>', 'onnxruntime threads', num('threads', { min: 1, int: true }))
    .option('--json', 'print the result as JSON', false)
    .action(async (f: ImageFlagValues & { model: string; classes: number[]; data: string; holdout: number; seed: number; range: number[]; out?: string; force: boolean; threads?: number; json: boolean }) => {
      const out = f.out !== undefined ? checkOutFile(f.out, f.force) : undefined;
      const args: BiasJobArgs = { kind: 'bias', model: f.model, data: f.data, images: imageFlagsFrom(f), classes: [...new Set(f.classes)], holdout: f.holdout, seed: f.seed, candidates: f.range, threads: f.threads, out };
      await checkImageFlagsApply(args.images!, f.data);
      const r = (await run('distill', args)) as BiasJobResult;
      if (f.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const sign = r.offset >= 0 ? '+' : '';
      process.stdout.write(`offset ${sign}${r.offset} on class${r.classes.length > 1 ? 'es' : ''} ${r.classes.join(',')} (chosen on ${r.holdout.n} held-out training examples: errors ${r.holdout.before} → ${r.holdout.after})\n`);
      process.stdout.write(`test errors ${r.test.before}/${r.test.n} → ${r.test.after}/${r.test.n}\n`);
      if (r.out) process.stdout.write(`saved ${r.out}\n`);
    });
}
