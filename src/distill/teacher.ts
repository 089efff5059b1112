/**
 * Teachers: ONNX classifiers, whether saved by `dk train` / `dk distill` or exported from another
 * framework (e.g. `torch.onnx.export`), and ensembles of them.
 *
 * A teacher takes one float input of shape [N, D] or [N, C, H, W] (any per-example shape with
 * the data's element count: the data is reshaped to it, row-major, and a log line says so) and
 * has an output [N, K] of logits or probabilities, K = the data's class count. A batch dimension
 * fixed in the file (an export without dynamic axes) is honoured by padding the last batch.
 * Mismatched sizes are refused with both shapes in the message (UsageError).
 *
 * Ensembles combine members as log-probabilities (the form the trainer takes):
 *   mean:    log( (1/M) Σ_m p_m )                      arithmetic mean of probabilities (default)
 *   geomean: log softmax( (1/M) Σ_m log p_m )          geometric mean, renormalised
 */
import { basename } from 'node:path';
import { type DType, type TensorData, tensor } from '../graph/ir.js';
import { fromOnnxBytes } from '../graph/onnx.js';
import { type Dataset, featureSize } from '../data/dataset.js';
import { type RuntimeOptions, Runner } from '../runtime/session.js';
import { predictAll } from '../train/evaluate.js';
import { SPEC_KEY } from '../train/network.js';
import { UsageError } from '../util/errors.js';
import { Phase, type ProgressSink } from '../util/progress.js';
import { type TeacherKind, detectTeacherKind, logSoftmaxRows, toLogProbs } from './targets.js';
import { sha256Hex } from '../util/hash.js';
import { readUserFile } from '../util/read.js';

export { type TeacherOutputs, TEACHER_OUTPUTS, type EnsembleMode, ENSEMBLE_MODES } from './modes.js';
import { type TeacherOutputs, TEACHER_OUTPUTS, type EnsembleMode, ENSEMBLE_MODES } from './modes.js';

/** An ONNX teacher as bytes with a name for messages (a file path, or any label). */
export interface TeacherSource {
  name: string;
  bytes: Uint8Array;
}

/** Read a teacher file (UsageError naming the file if it cannot be read). */
export function readTeacherFile(file: string): TeacherSource {
  return { name: file, bytes: readUserFile(`--teacher ${file}`, file) };
}

export { sha256Hex };

export function validateTeacherOutputs(k: string): TeacherOutputs {
  if (!(TEACHER_OUTPUTS as readonly string[]).includes(k)) throw new UsageError(`--teacher-outputs: expected one of ${TEACHER_OUTPUTS.join(', ')}; got '${k}'`);
  return k as TeacherOutputs;
}

export function validateEnsembleMode(k: string): EnsembleMode {
  if (!(ENSEMBLE_MODES as readonly string[]).includes(k)) throw new UsageError(`--ensemble: expected one of ${ENSEMBLE_MODES.join(', ')}; got '${k}'`);
  return k as EnsembleMode;
}

const fmt = (dims: readonly (number | string)[]) => `[${dims.join(',')}]`;

/** What the data the teacher will see looks like. */
export interface TeacherExpectation {
  /** Per-example shape of the data, e.g. [1,28,28]. */
  shape: number[];
  classes: number;
}

/** A loaded teacher: a compiled session plus how to feed it. */
export class OnnxTeacher {
  private constructor(
    readonly name: string,
    readonly sha256: string,
    /** Saved by dark-knowledge (our metadata present): its output is known to be logits. */
    readonly ours: boolean,
    private readonly runner: Runner,
    readonly inputName: string,
    readonly outputName: string,
    readonly inputDtype: 'float32' | 'float64',
    /** Per-example shape fed to the model. */
    readonly feedShape: number[],
    /** Batch size fixed in the file, or null when the batch dimension is free. */
    readonly fixedBatch: number | null,
    readonly classes: number,
    /** Output kind as declared ('auto': detect from the outputs). */
    readonly declared: TeacherOutputs,
  ) {}

  /**
   * Load and check a teacher against the data it will see. Logs (as progress 'log' lines) any
   * reshape of the input and which output is used when there are several.
   */
  static async load(src: TeacherSource, expect: TeacherExpectation, opts: { outputs?: TeacherOutputs; runtime?: RuntimeOptions; progress?: ProgressSink } = {}): Promise<OnnxTeacher> {
    const log = (text: string) => opts.progress?.({ kind: 'log', text });
    const name = src.name;
    let graph;
    try {
      graph = fromOnnxBytes(src.bytes);
    } catch (e) {
      throw new UsageError(`--teacher ${name}: ${(e as Error).message.split('\n')[0]}`);
    }
    const ours = !!graph.metadata?.[SPEC_KEY];
    // Inputs: exactly one, float.
    if (graph.inputs.length !== 1) {
      throw new UsageError(`--teacher ${name}: a teacher must take exactly one input, this one takes ${graph.inputs.length} (${graph.inputs.map((v) => `${v.name} ${fmt(v.shape)}`).join(', ') || 'none'})`);
    }
    const inp = graph.inputs[0];
    if (inp.dtype !== 'float32' && inp.dtype !== 'float64') throw new UsageError(`--teacher ${name}: input '${inp.name}' is ${inp.dtype}; a teacher must take float32 or float64 input`);
    if (inp.shape.length < 2) throw new UsageError(`--teacher ${name}: input '${inp.name}' has shape ${fmt(inp.shape)}; expected [N, D] or [N, C, H, W]`);
    const D = featureSize(expect);
    const feedShape = resolveFeedShape(inp.shape.slice(1), expect.shape);
    const dataDesc = `the data's examples are ${fmt(expect.shape)} (${D} values)`;
    if (!feedShape) throw new UsageError(`--teacher ${name}: input '${inp.name}' has shape ${fmt(inp.shape)} but ${dataDesc}; the per-example element counts must match`);
    const inD = feedShape.reduce((a, b) => a * b, 1);
    if (inD !== D) throw new UsageError(`--teacher ${name}: input '${inp.name}' has shape ${fmt(inp.shape)} (${inD} values per example) but ${dataDesc}`);
    const b0 = inp.shape[0];
    const fixedBatch = typeof b0 === 'number' && b0 > 0 ? b0 : null;
    if (!ours && fmt(feedShape) !== fmt(expect.shape)) log(`teacher ${basename(name)}: input ${fmt(inp.shape)}; data examples ${fmt(expect.shape)} are reshaped to ${fmt(['N', ...feedShape])} (same ${D} values, row-major)`);
    if (fixedBatch !== null && !ours) log(`teacher ${basename(name)}: batch size fixed at ${fixedBatch} in the file; running in batches of ${fixedBatch}`);
    // Output: the only one, or the one [N, classes]-shaped.
    if (graph.outputs.length === 0) throw new UsageError(`--teacher ${name}: the model has no outputs`);
    const width = (s: readonly (number | string)[]) => (s.length >= 2 && s.slice(1).every((d) => typeof d === 'number') ? (s.slice(1) as number[]).reduce((a, b) => a * b, 1) : null);
    let outV = graph.outputs[0];
    if (graph.outputs.length > 1) {
      const fits = graph.outputs.filter((o) => isFloatType(o.dtype) && width(o.shape) === expect.classes);
      outV = fits.length ? fits[0] : graph.outputs[0];
      log(`teacher ${basename(name)}: ${graph.outputs.length} outputs (${graph.outputs.map((o) => `${o.name} ${fmt(o.shape)}`).join(', ')}); using '${outV.name}'`);
    }
    if (!isFloatType(outV.dtype)) throw new UsageError(`--teacher ${name}: output '${outV.name}' is ${outV.dtype}; a teacher must output float logits or probabilities`);
    if (outV.shape.length === 1) {
      throw new UsageError(`--teacher ${name}: output '${outV.name}' has shape ${fmt(outV.shape)} (no class axis); a teacher must output [N,${expect.classes}] logits or probabilities`);
    }
    const w = width(outV.shape);
    if (w !== null && w !== expect.classes) {
      throw new UsageError(`--teacher ${name}: output '${outV.name}' has shape ${fmt(outV.shape)} (${w} classes) but the data has ${expect.classes} classes (expected [N,${expect.classes}])`);
    }
    let runner: Runner;
    try {
      runner = await Runner.create(src.bytes, opts.runtime);
    } catch (e) {
      throw new UsageError(`--teacher ${name}: ${(e as Error).message.split('\n')[0]}`);
    }
    const declared = opts.outputs ?? 'auto';
    return new OnnxTeacher(name, sha256Hex(src.bytes), ours, runner, inp.name, outV.name, inp.dtype, feedShape, fixedBatch, expect.classes, declared);
  }

  /** Raw outputs (logits or probabilities, as the model gives them) for every row of `ds`, n × classes. */
  async outputs(ds: Dataset, progress?: ProgressSink, label = `teacher ${basename(this.name)}`): Promise<Float32Array> {
    const phase = progress ? new Phase(progress, `teacher-${this.sha256.slice(0, 8)}-${ds.n}`, label, ds.n) : null;
    const onBatch = (done: number) => phase?.tick(done);
    let out: Float32Array;
    let width: number;
    try {
      if (this.fixedBatch === null && this.inputDtype === 'float32') {
        ({ out, width } = await predictAll(this.runner, ds.x, ds.n, this.feedShape, { batch: 1000, inputName: this.inputName, outputName: this.outputName, onBatch }));
      } else {
        ({ out, width } = await this.paddedBatches(ds, onBatch));
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--teacher ${this.name}: running it on ${ds.n} examples of shape ${fmt(this.feedShape)} failed: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      phase?.stop();
    }
    if (ds.n > 0 && width !== this.classes) {
      throw new UsageError(`--teacher ${this.name}: output '${this.outputName}' has shape [N,${width}] (${width} classes) but the data has ${this.classes} classes (expected [N,${this.classes}])`);
    }
    return out;
  }

  /** Batches of a fixed size (the last padded with zeros) and/or float64 input. */
  private async paddedBatches(ds: Dataset, onBatch: (done: number) => void): Promise<{ out: Float32Array; width: number }> {
    const D = featureSize(ds);
    const B = this.fixedBatch ?? 1000;
    const buf = this.inputDtype === 'float64' ? new Float64Array(B * D) : new Float32Array(B * D);
    let out: Float32Array | null = null;
    let width = 0;
    for (let s = 0; s < ds.n; s += B) {
      const m = Math.min(B, ds.n - s);
      const rows = this.fixedBatch ?? m;
      buf.fill(0);
      buf.set(ds.x.subarray(s * D, (s + m) * D));
      const feed: TensorData = tensor(this.inputDtype as DType, [rows, ...this.feedShape], buf.subarray(0, rows * D));
      const res = await this.runner.run({ [this.inputName]: feed }, [this.outputName]);
      const o = res[this.outputName];
      const w = o.dims.slice(1).reduce((a, b) => a * b, 1);
      if (!out) {
        width = w;
        out = new Float32Array(ds.n * w);
      }
      out.set((o.data as Float32Array | Float64Array).subarray(0, m * w), s * w);
      onBatch(s + m);
    }
    return { out: out ?? new Float32Array(0), width };
  }

  /**
   * Decide the output kind for these outputs: declared, or (auto) ours → logits, else detected.
   * Returns the kind and a line for the log.
   */
  resolveKind(out: Float32Array, n: number): { kind: TeacherKind; report: string } {
    const who = `teacher ${basename(this.name)}`;
    const det = detectTeacherKind(out, n, this.classes);
    if (this.declared === 'auto') {
      if (this.ours) return { kind: 'logits', report: `${who}: outputs logits (a dark-knowledge model)` };
      return { kind: det.kind, report: `${who}: outputs detected as ${det.kind === 'probs' ? 'probabilities' : 'logits'} (${det.reason})` };
    }
    if (this.declared === 'probs' && det.minValue < 0) {
      throw new UsageError(`--teacher-outputs probs: teacher ${this.name} outputs negative values (min ${det.minValue.toPrecision(4)}), so they are not probabilities; use --teacher-outputs logits or auto`);
    }
    const note = det.kind !== this.declared ? `; note: they look like ${det.kind === 'probs' ? 'probabilities' : 'logits'} (${det.reason})` : '';
    return { kind: this.declared, report: `${who}: outputs ${this.declared === 'probs' ? 'probabilities' : 'logits'} as declared by --teacher-outputs${note}` };
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

function isFloatType(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

/**
 * The per-example shape to feed: the model's declared dims after the batch, with symbolic dims
 * filled from the data's shape when the ranks agree (or from the element count when one is
 * unknown). Null when it cannot be made to fit.
 */
function resolveFeedShape(declared: readonly (number | string)[], data: number[]): number[] | null {
  const D = data.reduce((a, b) => a * b, 1);
  const unknown = declared.map((d, i) => (typeof d === 'number' ? -1 : i)).filter((i) => i >= 0);
  if (unknown.length === 0) return declared as number[];
  if (declared.length === data.length && declared.every((d, i) => typeof d !== 'number' || d === data[i])) return [...data];
  if (unknown.length === 1) {
    const known = (declared.filter((d) => typeof d === 'number') as number[]).reduce((a, b) => a * b, 1);
    if (known > 0 && D % known === 0) return declared.map((d) => (typeof d === 'number' ? d : D / known));
  }
  return null;
}

/**
 * Combine members' outputs (each n × C, of the given kinds) into one set of float32
 * log-probabilities. One member: its log-probabilities (log-softmax of logits, or clamped log of
 * probabilities — see targets.ts). Several: mean or geometric mean as in the header.
 */
export function combineTeachers(members: { out: ArrayLike<number>; kind: TeacherKind }[], n: number, C: number, mode: EnsembleMode = 'mean'): Float32Array {
  if (members.length === 0) throw new RangeError('combineTeachers: no teachers');
  if (!ENSEMBLE_MODES.includes(mode)) throw new RangeError(`combineTeachers: unknown ensemble mode '${mode}': expected ${ENSEMBLE_MODES.join(', ')}`);
  const lps = members.map((m) => toLogProbs(m.out, n, C, m.kind));
  if (lps.length === 1) return lps[0];
  const M = lps.length;
  const acc = new Float64Array(n * C);
  if (mode === 'geomean') {
    for (const lp of lps) for (let i = 0; i < n * C; i++) acc[i] += lp[i] / M;
    return logSoftmaxRows(acc, n, C, new Float32Array(n * C));
  }
  // mean: log((1/M) Σ_m exp(lp_m)) per entry, by log-sum-exp over members.
  const out = new Float32Array(n * C);
  for (let i = 0; i < n * C; i++) {
    let m = -Infinity;
    for (const lp of lps) if (lp[i] > m) m = lp[i];
    let s = 0;
    for (const lp of lps) s += Math.exp(lp[i] - m);
    acc[i] = m + Math.log(s / M);
  }
  // Renormalise (each member's rows sum to 1, so this only removes rounding).
  return logSoftmaxRows(acc, n, C, out);
}
