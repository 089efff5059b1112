/**
 * What a run report holds, measured from a finished `dk train` / `dk distill` run: test errors
 * with intervals, per-class errors and confusion matrices, the paired test and agreement between
 * student and teacher, and the compression numbers (weights, bytes on disk, inference time per
 * example). The saved student is measured from its file, as a user will run it.
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type Dataset, featureSize } from '../data/dataset.js';
import type { TeacherPrep } from '../distill/modes.js';
import { OnnxTeacher, readTeacherFile } from '../distill/teacher.js';
import { countWeights } from '../graph/onnx.js';
import type { RuntimeOptions } from '../runtime/session.js';
import type { EpochEvent } from '../train/trainer.js';
import { argmaxRows, logSoftmaxRows } from '../util/softmax.js';
import { errorInterval, mcnemar, wrongMask } from '../util/stats.js';
import { RUN_REPORT_FORMAT, RUN_REPORT_VERSION, type ModelEntry, type RunReport, type TestEval } from './run-schema.js';

/** Errors, their 95% interval, per-class errors and the confusion matrix of predictions against labels. */
export function testEval(pred: ArrayLike<number>, labels: ArrayLike<number>, classes: number, level = 0.95): TestEval {
  if (pred.length !== labels.length) throw new RangeError(`testEval: ${pred.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) throw new RangeError('testEval: no examples');
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = pred[i];
    if (!(y >= 0 && y < classes) || !(p >= 0 && p < classes)) throw new RangeError(`testEval: example ${i} has label ${y} and prediction ${p}; expected classes 0..${classes - 1}`);
    confusion[y][p]++;
  }
  const perClass = confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return { total, errors: total - row[k] };
  });
  const errors = perClass.reduce((a, c) => a + c.errors, 0);
  const iv = errorInterval(errors, labels.length, level);
  return { errors, total: labels.length, interval: { lo: iv.lo, hi: iv.hi, level }, perClass, confusion };
}

/**
 * Student against teacher on the same test examples: the exact McNemar test, top-1 agreement, and
 * the mean KL(teacher at T ‖ student at T) in nats. `teacherLogProbs` are the (combined) teacher's
 * log-probabilities at T = 1, `studentLogits` the student's logits, both n × C.
 */
export function compareToTeacher(studentLogits: ArrayLike<number>, teacherLogProbs: ArrayLike<number>, labels: ArrayLike<number>, classes: number, T: number): NonNullable<RunReport['comparison']> {
  const n = labels.length;
  const C = classes;
  if (!(T > 0)) throw new RangeError(`compareToTeacher: T must be > 0, got ${T}`);
  const ps = argmaxRows(studentLogits, n, C);
  const pt = argmaxRows(teacherLogProbs, n, C);
  const m = mcnemar(wrongMask(pt, labels), wrongMask(ps, labels));
  let agree = 0;
  for (let i = 0; i < n; i++) if (ps[i] === pt[i]) agree++;
  const scaled = (a: ArrayLike<number>) => Float64Array.from({ length: n * C }, (_, i) => a[i] / T);
  const lq = logSoftmaxRows(scaled(teacherLogProbs), n, C);
  const lp = logSoftmaxRows(scaled(studentLogits), n, C);
  let kl = 0;
  for (let i = 0; i < n * C; i++) {
    const q = Math.exp(lq[i]);
    if (q > 0) kl += q * (lq[i] - lp[i]);
  }
  return { onlyTeacherWrong: m.onlyA, onlyStudentWrong: m.onlyB, pValue: m.pValue, agreement: n ? agree / n : 0, meanKL: Math.max(0, n ? kl / n : 0), T };
}

/** Bytes on disk of an ONNX file and the external data files it names. */
export function modelFileBytes(path: string, external: readonly string[] = []): number {
  return statSync(path).size + external.reduce((a, loc) => a + statSync(resolve(dirname(path), loc)).size, 0);
}

/** `rows` examples taken from `ds` in order, cycling when it has fewer. */
function sampleRows(ds: Dataset, rows: number): Dataset {
  const D = featureSize(ds);
  const x = new Float32Array(rows * D);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const j = i % ds.n;
    x.set(ds.x.subarray(j * D, (j + 1) * D), i * D);
    y[i] = ds.y[j];
  }
  return { x, y, n: rows, shape: ds.shape, classes: ds.classes, source: ds.source };
}

export interface TimingOptions {
  batches?: readonly number[];
  /** Keep repeating one batch size until this much time has passed (and at least 5 runs). */
  minSeconds?: number;
  maxRepeats?: number;
}

/** Median seconds of `fn` over repeated calls, after two warm-up calls. */
async function medianSeconds(fn: () => Promise<unknown>, minSeconds: number, maxRepeats: number): Promise<{ seconds: number; repeats: number }> {
  await fn();
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRepeats && (times.length < 5 || performance.now() - start < minSeconds * 1000)) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return { seconds: times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2, repeats: times.length };
}

/** A model (or an ensemble's members) as the report measures it. */
export interface MeasuredModel {
  entry: ModelEntry;
  /** Raw outputs of each member on the test set (when given one). */
  testOutputs?: Float32Array[];
}

/**
 * Weights, bytes on disk and inference time per example of ONNX model file(s), run the way
 * teachers are run (their preprocessing included). An ensemble's time is the sum of its members'.
 * With `test`, also each member's outputs on it.
 */
export async function measureModelFiles(
  files: readonly string[],
  sample: Dataset,
  o: { description: string; prep?: readonly (TeacherPrep | undefined)[]; runtime?: RuntimeOptions; timing?: TimingOptions; test?: Dataset },
): Promise<MeasuredModel> {
  const batches = o.timing?.batches ?? [1, 256];
  const perBatch = batches.map((batch) => ({ batch, msPerExample: 0, repeats: Infinity }));
  let weights = 0;
  let fileBytes = 0;
  const testOutputs: Float32Array[] = [];
  for (const [i, file] of files.entries()) {
    const src = readTeacherFile(file);
    weights += countWeights(src.bytes);
    fileBytes += modelFileBytes(file, (src.external ?? []).map((e) => e.location));
    const t = await OnnxTeacher.load(src, { shape: sample.shape, classes: sample.classes }, { prep: o.prep?.[i], runtime: o.runtime });
    try {
      for (const p of perBatch) {
        const rows = sampleRows(sample, p.batch);
        const m = await medianSeconds(() => t.outputs(rows), o.timing?.minSeconds ?? 0.3, o.timing?.maxRepeats ?? 2000);
        p.msPerExample += (1000 * m.seconds) / p.batch;
        p.repeats = Math.min(p.repeats, m.repeats);
      }
      if (o.test) testOutputs.push(await t.outputs(o.test));
    } finally {
      await t.release();
    }
  }
  return {
    entry: { description: o.description, files: files.map((f) => basename(f)), weights, fileBytes, inference: perBatch },
    testOutputs: o.test ? testOutputs : undefined,
  };
}

/** Everything a finished run hands over for its report. */
export interface RunInput {
  kind: 'train' | 'distill';
  /** The saved model file (already written). */
  model: string;
  /** The student's architecture, e.g. 'mlp:800,800'. */
  spec: string;
  /** The saved model's input layout (default nchw: as the data is stored). */
  layout?: 'nchw' | 'nhwc';
  classes: number;
  classNames?: readonly string[];
  /** Where the data came from (e.g. 'mnist' or a directory). */
  source: string;
  trainSize: number;
  heldOutSize?: number;
  transfer?: string;
  test?: Dataset;
  /** Examples to time the models on when there is no test split (e.g. the training data). */
  timingData?: Dataset;
  settings: { label: string; value: string }[];
  history: readonly EpochEvent[];
  seconds: number;
  teacher?: {
    files: readonly string[];
    prep?: readonly (TeacherPrep | undefined)[];
    ensemble?: string;
    /** The combined teacher's test log-probabilities, n × C (distill computes them already). */
    testLogProbs?: Float32Array;
    T: number;
  };
  runtime?: RuntimeOptions;
  timing?: TimingOptions;
  generator?: string;
  /** Fixed creation time (tests); default now. */
  createdAt?: string;
}

/** Measure a finished run and assemble its report (not yet validated or written). */
export async function buildRunReport(a: RunInput): Promise<RunReport> {
  const C = a.classes;
  const test = a.test && a.test.n > 0 ? a.test : undefined;
  if (test && test.classes > C) throw new RangeError(`buildRunReport: the test data has ${test.classes} classes, the model ${C}`);
  const timeOn = test ?? a.timingData;
  if (!timeOn || timeOn.n === 0) throw new RangeError('buildRunReport: no examples to time the models on (give test or timingData)');
  const student = await measureModelFiles([a.model], timeOn, { description: a.spec, prep: [{ layout: a.layout ?? 'nchw' }], runtime: a.runtime, timing: a.timing, test });
  let studentLogits: Float32Array | undefined;
  if (test && student.testOutputs) {
    studentLogits = student.testOutputs[0];
    student.entry.test = testEval(argmaxRows(studentLogits, test.n, C), test.y, C);
  }
  let teacher: ModelEntry | undefined;
  let comparison: RunReport['comparison'];
  if (a.teacher) {
    const names = a.teacher.files.map((f) => basename(f));
    const description = names.length > 1 ? `ensemble (${a.teacher.ensemble ?? 'mean'}) of ${names.join(', ')}` : names[0];
    const m = await measureModelFiles(a.teacher.files, timeOn, { description, prep: a.teacher.prep, runtime: a.runtime, timing: a.timing });
    teacher = m.entry;
    if (test && a.teacher.testLogProbs && studentLogits) {
      teacher.test = testEval(argmaxRows(a.teacher.testLogProbs, test.n, C), test.y, C);
      comparison = compareToTeacher(studentLogits, a.teacher.testLogProbs, test.y, C, a.teacher.T);
    }
  }
  const names = Array.from({ length: C }, (_, k) => a.classNames?.[k] ?? String(k));
  return {
    format: RUN_REPORT_FORMAT,
    schemaVersion: RUN_REPORT_VERSION,
    kind: a.kind,
    generator: a.generator ?? 'dark-knowledge',
    createdAt: a.createdAt ?? new Date().toISOString(),
    model: a.model,
    data: {
      source: a.source,
      classes: C,
      classNames: names,
      trainSize: a.trainSize,
      testSize: test?.n ?? 0,
      ...(a.heldOutSize ? { heldOutSize: a.heldOutSize } : {}),
      ...(a.transfer ? { transfer: a.transfer } : {}),
    },
    settings: a.settings,
    student: student.entry,
    ...(teacher ? { teacher } : {}),
    ...(comparison ? { comparison } : {}),
    history: a.history.map((h) => ({
      epoch: h.epoch,
      loss: h.loss,
      trainAccuracy: h.trainAccuracy,
      lr: h.lr,
      seconds: h.seconds,
      ...(h.test ? { testErrors: h.test.errors } : {}),
      ...(h.evals?.[0] ? { heldOutErrors: h.evals[0].errors } : {}),
    })),
    seconds: a.seconds,
  };
}
