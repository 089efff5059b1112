/**
 * `distill()`: teach a student from one teacher or an ensemble of ONNX teachers — the library
 * behind `dk distill`. Steps: load the data; teacher outputs over the whole training set
 * (cached, indexed by example id); the transfer set (transfer.ts); a fresh student (or the one
 * given); training with the soft loss
 *   L = α·T²·CE(g(y;T), softmax(s/T)) + (1−α)·CE(onehot, softmax(s))     (losses.ts)
 * fed the cached rows by example id; evaluation of student and teacher on the test split.
 */
import type { DataSplit, Dataset } from '../data/dataset.js';
import type { ImageOptions } from '../data/images.js';
import { type TransferData, openData, openTransfer } from '../data/load.js';
import type { ModelOptions } from '../nn/spec.js';
import { AUTO_WARMUP, autoWarmupSteps } from '../optim/schedule.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { alternating } from '../runtime/core.js';
import { type EvalSummary, argmaxRows, summarise } from '../train/evaluate.js';
import { type Network, nhwcLayout } from '../train/network.js';
import { createStudent } from '../train/student.js';
import { replicaPlan } from '../train/replicas.js';
import { trainingProgress } from '../train/progress.js';
import { type EpochEvent, type TrainConfig, type TrainEvent, DEFAULT_TRAIN, trainNetwork, validateTrainConfig } from '../train/trainer.js';
import { UsageError } from '../util/errors.js';
import type { ProgressSink } from '../util/progress.js';
import { teacherTargets } from './cache.js';
import type { TeacherKind } from './targets.js';
import { type EnsembleMode, type TeacherOutputs, type TeacherPrep, type TeacherSource, readTeacherFile, validateEnsembleMode, validateTeacherOutputs } from './teacher.js';
import { type TransferOptions, transferSet } from './transfer.js';
import { OnlineTeachers } from './online.js';
import { type TeacherMode, TEACHER_MODES } from './modes.js';

export interface DistillOptions {
  /** ONNX teachers: file paths, or bytes with a name. Several make an ensemble. */
  teachers: (string | TeacherSource)[];
  /** How an ensemble is combined (default 'mean' of probabilities; 'geomean' = mean of log-probabilities). */
  ensemble?: EnsembleMode;
  /** What the teachers output (default 'auto': detected, and reported). */
  teacherOutputs?: TeacherOutputs;
  /**
   * How the teachers are fed and read (normalisation, layout, output name): one for all, or one
   * per teacher in order. Default: [0,1] pixels as they are, layout and output decided from the file.
   */
  teacherPrep?: TeacherPrep | (TeacherPrep | undefined)[];
  /** A model spec ('mlp:800,800', 'cnn:…', 'linear') for a fresh student, or a Network to train further. */
  student: string | Network;
  /** Student options (dropout, …) for a spec. */
  studentOptions?: ModelOptions;
  /** 'mnist', a data directory, or loaded data (the test split is optional). */
  data: string | { train: Dataset; test?: Dataset };
  /** Image-folder options (size, channels, cache) for `data` and `transferData` given as paths; the cache directory defaults to `cacheDir`. */
  images?: Omit<ImageOptions, 'progress'>;
  /**
   * A transfer set apart from the data, learnt from instead of the training split: a folder of
   * images without labels (soft loss only: needs α = 1), any dataset `openData` reads (its
   * training split), or loaded data. Its examples must have the training data's shape.
   */
  transferData?: string | TransferData;
  /** Input layout of the student's saved model: 'nhwc' (image data only) or the default [N, ...inputShape]. */
  studentLayout?: 'nchw' | 'nhwc';
  /** Training settings over DEFAULT_TRAIN, with loss 'soft-ce' (T = 20, α = 0.9) unless given. */
  train?: Partial<TrainConfig>;
  transfer?: TransferOptions;
  /**
   * Warm the lr up over AUTO_WARMUP's share of the steps (src/optim/schedule.ts), computed on the
   * transfer set; replaces the config's warmupSteps. `dk distill` does so unless --warmup N.
   */
  autoWarmup?: boolean;
  /** Teacher-output cache directory (default '.dk-cache'); null turns the cache off. */
  cacheDir?: string | null;
  /** Also evaluate the teacher(s) on the test split (default true). */
  evaluateTeacher?: boolean;
  /**
   * 'cached': the teacher's outputs on the transfer set, computed once (and cached on disk);
   * 'online': the teacher run on every batch as the student sees it (src/distill/online.ts).
   * Default: online when the batches are augmented (train.jitter > 0), else cached.
   */
  teacherMode?: TeacherMode;
  runtime?: RuntimeOptions;
  /** Compute cached teacher outputs as jobs on this Redis queue (`dk worker` processes run them). */
  redis?: string;
  /** Progress events (bars and log lines), as the CLI shows them. */
  progress?: ProgressSink;
  /** Raw training events (per step and per epoch). */
  onEvent?: (e: TrainEvent) => void;
}

export interface DistillResult {
  student: Network;
  config: TrainConfig;
  /** The student's test summary after the last epoch (absent without a test split). */
  test?: EvalSummary;
  /** The student's summary on the held-out split after the last epoch (with `transfer.holdout`). */
  heldOut?: EvalSummary;
  history: EpochEvent[];
  teacher: {
    kinds: TeacherKind[];
    ensemble: EnsembleMode;
    fromCache: boolean;
    cacheFile: string | null;
    /** The (combined) teacher's test summary. */
    test?: EvalSummary;
    /** The (combined) teacher's test log-probabilities, n × classes (with `test`). */
    testLogProbs?: Float32Array;
  };
  /** The data the run used (the transfer set is drawn from `train`). */
  data: { train: Dataset; test?: Dataset };
  transfer: { n: number; labeled: boolean; description: string };
  /** Seconds: teacher outputs (computing or reading), student training, all. */
  seconds: { teacher: number; train: number; total: number };
}

/** Run `train`, then release the online teachers' sessions (if any), whatever happens. */
async function trainWith<T>(online: OnlineTeachers | undefined, train: () => Promise<T>): Promise<T> {
  try {
    return await train();
  } finally {
    await online?.release();
  }
}


export async function distill(o: DistillOptions): Promise<DistillResult> {
  const t0 = performance.now();
  const progress: ProgressSink = o.progress ?? (() => {});
  const log = (text: string) => progress({ kind: 'log', text });
  if (!Array.isArray(o.teachers) || o.teachers.length === 0) throw new UsageError({ param: 'teachers', detail: 'at least one teacher is needed' });
  const ensemble = validateEnsembleMode(o.ensemble ?? 'mean');
  const outputs = validateTeacherOutputs(o.teacherOutputs ?? 'auto');
  const cfg: TrainConfig = { ...DEFAULT_TRAIN, loss: 'soft-ce', ...o.train };
  if (cfg.loss === 'hard') throw new UsageError({ param: 'train.loss', detail: "distillation needs a soft loss: soft-ce or logit-mse (train on hard labels with 'dk train')" });
  try {
    validateTrainConfig(cfg);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const sources = o.teachers.map((t) => (typeof t === 'string' ? readTeacherFile(t) : t));
  const images: ImageOptions = { cacheDir: o.cacheDir, ...o.images, progress };
  const split = typeof o.data === 'string' ? ((await openData(o.data, images)) as DataSplit) : o.data;
  const train = split.train;
  const test = split.test;
  if (o.studentLayout === 'nhwc') nhwcLayout(train.shape, 'studentLayout'); // refused before any work
  const prep = Array.isArray(o.teacherPrep) ? o.teacherPrep : sources.map(() => o.teacherPrep as TeacherPrep | undefined);
  if (prep.length !== sources.length) throw new RangeError(`distill: teacherPrep has ${prep.length} entries for ${sources.length} teachers`);
  const spec = { teachers: sources, ensemble, outputs, prep };
  const cacheOpts = { cacheDir: o.cacheDir, runtime: o.runtime, progress, redis: o.redis };

  // The set the transfer set is drawn from: the training split, or a set given apart.
  let base = train;
  let baseName = 'training set';
  let baseLabeled = true;
  if (o.transferData !== undefined) {
    const td = typeof o.transferData === 'string' ? await openTransfer(o.transferData, train, images) : o.transferData;
    if (td.data.shape.join('x') !== train.shape.join('x')) throw new UsageError(`transfer set ${td.data.source}: examples of shape [${td.data.shape}], but the data's are [${train.shape}]`);
    base = td.data;
    baseLabeled = td.labeled;
    baseName = `transfer set ${base.source.replace(/:(train|unlabeled)$/, '')}${td.labeled ? '' : ' (unlabeled)'}`;
    if (!td.labeled) {
      const why = `the transfer set ${base.source.replace(/:unlabeled$/, '')} has no labels`;
      if (cfg.mix === 'alternate') throw new UsageError({ param: 'train.mix', value: 'alternate', detail: `${why}, so there are no hard-label batches; use {train.mix} convex {train.alpha} 1` });
      if (cfg.alpha < 1) throw new UsageError({ param: 'train.alpha', value: String(cfg.alpha), detail: `${why}, so the hard-label term (weight 1 − α) cannot be computed; use {train.alpha} 1 (soft targets only)` });
      const t = o.transfer ?? {};
      const param = t.omitClasses !== undefined ? 'transfer.omitClasses' : t.onlyClasses !== undefined ? 'transfer.onlyClasses' : t.holdout !== undefined ? 'transfer.holdout' : null;
      if (param) throw new UsageError({ param, detail: `${why} to ${param === 'transfer.holdout' ? 'score a held-out split' : 'select classes'} by` });
    }
  }

  // The transfer set first: bad transfer options fail before any teacher runs.
  const ts = transferSet(base, { ...o.transfer, unlabeled: (o.transfer?.unlabeled ?? false) || !baseLabeled }, cfg.seed, baseName);

  // Teacher outputs over the whole base set, by example id (cached).
  const tt = await teacherTargets(spec, base, { ...cacheOpts, label: base === train ? 'train' : 'transfer' });
  let teacherTest: EvalSummary | undefined;
  let teacherTestLogProbs: Float32Array | undefined;
  if (test && (o.evaluateTeacher ?? true)) {
    const tz = await teacherTargets(spec, test, { ...cacheOpts, label: 'test' });
    teacherTestLogProbs = tz.logProbs;
    teacherTest = summarise(argmaxRows(tz.logProbs, test.n, test.classes), test.y, test.classes);
    log(`teacher${sources.length > 1 ? ' ensemble' : ''}: test errors ${teacherTest.errors}/${teacherTest.total} (${(100 * teacherTest.accuracy).toFixed(2)}%)`);
  }
  const teacherSeconds = (performance.now() - t0) / 1000;
  log(`transfer set: ${ts.description}`);
  if (o.autoWarmup) {
    cfg.schedule = { ...cfg.schedule, warmupSteps: autoWarmupSteps(ts.data.n, cfg.batch, cfg.epochs) };
    log(`lr warm-up: ${cfg.schedule.warmupSteps} steps (auto: ${100 * AUTO_WARMUP.fraction}% of the steps, at most ${AUTO_WARMUP.maxSteps})`);
  }

  if (!ts.labeled && cfg.mix === 'alternate') log('unlabeled transfer set: every batch is soft (α = 1); --mix alternate has no hard batches to alternate with');

  let net: Network;
  if (typeof o.student === 'string') {
    net = createStudent(o.student, train.shape, train.classes, o.studentOptions ?? {}, cfg.seed);
    if (train.classNames) net.classNames = train.classNames;
  } else net = o.student;
  if (o.studentLayout === 'nhwc') {
    if (net.imported) throw new UsageError({ param: 'studentLayout', detail: `an ONNX student (${net.imported.source}) keeps the input layout of its file` });
    net.exportLayout = nhwcLayout(train.shape, 'studentLayout');
  }
  if (net.spec.classes !== train.classes) throw new UsageError(`student outputs ${net.spec.classes} classes but the data has ${train.classes}`);
  replicaPlan(net, cfg.batch, o.runtime?.replicas ?? 'auto', o.runtime?.threads); // a replica count the student cannot take fails here, before the teacher runs
  const desc = cfg.loss === 'soft-ce' ? `soft-ce, T=${cfg.temperature}, α=${cfg.alpha}, ${cfg.mix}` : `logit-mse, α=${cfg.alpha}, ${cfg.mix}`;
  log(`student ${net.spec.spec}: ${net.module.describe(net.spec.inputShape)} (${net.parameterCount.toLocaleString('en')} parameters); loss ${desc}`);

  const mode = o.teacherMode ?? (cfg.jitter > 0 ? 'online' : 'cached');
  if (!(TEACHER_MODES as readonly string[]).includes(mode)) throw new UsageError({ param: 'teacherMode', detail: `expected one of ${TEACHER_MODES.join(', ')}; got '${mode}'` });
  const why = o.teacherMode ? 'as asked' : cfg.jitter > 0 ? `batches jittered by up to ${cfg.jitter} px` : 'no augmentation';
  log(
    mode === 'online'
      ? `teacher: online, run on every batch as the student sees it (${why})`
      : `teacher: cached outputs on the transfer set (${why})${cfg.jitter > 0 ? '; the student sees jittered batches but the targets are of the clean examples' : ''}`,
  );
  const online = mode === 'online' ? await OnlineTeachers.load(spec, tt.kinds, train.shape, tt.classes, { runtime: alternating(o.runtime) }) : undefined;
  const bar = trainingProgress(progress, 'distill', cfg.epochs, ['held-out']);
  const res = await trainWith(online, () => trainNetwork(net, ts.data, cfg, {
    test,
    evalSets: ts.heldOut ? [ts.heldOut] : undefined,
    ...(online ? { onlineTeacher: online } : { teacher: { logits: tt.logProbs, classes: tt.classes } }),
    labeled: ts.labeled,
    runtime: o.runtime,
    onLog: log,
    onEvent: (e) => {
      bar(e);
      o.onEvent?.(e);
    },
  }));
  const last = res.history[res.history.length - 1];
  return {
    student: net,
    config: cfg,
    test: last?.test,
    heldOut: last?.evals?.[0],
    history: res.history,
    teacher: { kinds: tt.kinds, ensemble, fromCache: tt.fromCache, cacheFile: tt.file, test: teacherTest, testLogProbs: teacherTestLogProbs },
    data: { train, test },
    transfer: { n: ts.data.n, labeled: ts.labeled, description: ts.description },
    seconds: { teacher: teacherSeconds, train: res.seconds, total: (performance.now() - t0) / 1000 },
  };
}
