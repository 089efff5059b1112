/**
 * Teachers: ONNX classifiers, whether saved by `dk train` / `dk distill` or exported from another
 * framework (e.g. `torch.onnx.export`), and ensembles of them.
 *
 * A teacher goes to onnxruntime as it is: a file is handed over by its path (so external data
 * files next to it are found), and only the input/output metadata onnxruntime reports (names,
 * element types, shapes) is inspected; the graph is never decoded into our IR, so any opset and
 * op onnxruntime runs will do (float16 / bfloat16 weights, int8 QDQ or QLinear graphs, …).
 *
 * A teacher takes one float input (float32, float64, or float16: cast at the boundary) of shape
 * [N, D] or [N, C, H, W] / [N, H, W, C] (any per-example shape with the data's element count:
 * the data is reshaped to it, row-major, and a log line says so), optionally normalised per
 * channel and laid out channels-last first (preprocess.ts). Its class scores are an output
 * [N, K] of logits or probabilities, K = the data's class count: the only output, the one named,
 * or the one shaped [N, K] among several. A batch dimension fixed in the file (an export without
 * dynamic axes) is honoured by padding the last batch. Mismatched sizes are refused with both
 * shapes in the message (UsageError).
 *
 * Ensembles combine members as log-probabilities (the form the trainer takes):
 *   mean:    log( (1/M) Σ_m p_m )                      arithmetic mean of probabilities (default)
 *   geomean: log softmax( (1/M) Σ_m log p_m )          geometric mean, renormalised
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { scanOnnx } from '../graph/onnx.js';
import { type Dataset, featureSize } from '../data/dataset.js';
import { BOUNDARY_FLOAT_TYPES, type BoundaryFloatType, type RuntimeOptions, type ValueInfo, Runner } from '../runtime/session.js';
import { SPEC_KEY } from '../train/network.js';
import { UsageError } from '../util/errors.js';
import { Phase, type ProgressSink } from '../util/progress.js';
import { type TeacherKind, detectTeacherKind, logSoftmaxRows, toLogProbs } from './targets.js';
import { sha256Hex } from '../util/hash.js';
import { readUserFile } from '../util/read.js';
import { type PrepNames, type ResolvedPrep, TEACHER_PARAMS, prepareRows, resolveLayout, resolveNormalisation } from './preprocess.js';

export { type TeacherOutputs, TEACHER_OUTPUTS, type EnsembleMode, ENSEMBLE_MODES, type TeacherLayout, TEACHER_LAYOUTS, type TeacherPrep } from './modes.js';
import { type TeacherOutputs, TEACHER_OUTPUTS, type EnsembleMode, ENSEMBLE_MODES, type TeacherPrep } from './modes.js';

/** An external data file of a teacher: its location as the model names it, and its sha256. */
export interface ExternalData {
  location: string;
  sha256: string;
}

/**
 * An ONNX teacher: its bytes with a name for messages (a file path, or any label), and, when it
 * is a file, the path (handed to onnxruntime) and the external data files it uses.
 */
export interface TeacherSource {
  name: string;
  bytes: Uint8Array;
  path?: string;
  external?: ExternalData[];
}

/** sha256 of a file, read in 16 MiB chunks (external data may be many GB). */
function hashFile(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 24);
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      h.update(buf.subarray(0, got));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Read a teacher file and hash the external data files it names (UsageError naming the file, or
 * the missing data file, if one cannot be read). `param` names the model in messages. Bytes that
 * are not ONNX are returned as they are: loading them is what refuses them.
 */
export function readTeacherFile(file: string, param: PrepNames['model'] = 'teacher'): TeacherSource {
  const bytes = readUserFile({ param, value: file }, file);
  let files: string[];
  try {
    files = scanOnnx(bytes).externalFiles;
  } catch {
    files = []; // not ONNX: OnnxTeacher.load says so, after the cheaper checks of the run
  }
  const external = files.map((location) => {
    const p = resolve(dirname(file), location);
    try {
      return { location, sha256: hashFile(p) };
    } catch (e) {
      throw new UsageError({ param, value: file, detail: `its external data file '${location}' (expected at ${p}) cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    }
  });
  return { name: file, bytes, path: file, external };
}

/**
 * A teacher's identity for caches: the sha256 of its bytes, or, with external data, of the
 * model's sha256 and each data file's location and sha256.
 */
export function teacherHash(src: TeacherSource): string {
  const own = sha256Hex(src.bytes);
  if (!src.external?.length) return own;
  return sha256Hex(`model=${own}\n`, ...src.external.map((e) => `external=${e.location}:${e.sha256}\n`));
}

export { sha256Hex };

export function validateTeacherOutputs(k: string): TeacherOutputs {
  if (!(TEACHER_OUTPUTS as readonly string[]).includes(k)) throw new UsageError({ param: 'teacherOutputs', detail: `expected one of ${TEACHER_OUTPUTS.join(', ')}; got '${k}'` });
  return k as TeacherOutputs;
}

export function validateEnsembleMode(k: string): EnsembleMode {
  if (!(ENSEMBLE_MODES as readonly string[]).includes(k)) throw new UsageError({ param: 'ensemble', detail: `expected one of ${ENSEMBLE_MODES.join(', ')}; got '${k}'` });
  return k as EnsembleMode;
}

const fmt = (dims: readonly (number | string)[]) => `[${dims.join(',')}]`;

/** What the data the teacher will see looks like. */
export interface TeacherExpectation {
  /** Per-example shape of the data, e.g. [1,28,28]. */
  shape: number[];
  classes: number;
}

export interface TeacherLoadOptions {
  outputs?: TeacherOutputs;
  /** Normalisation, layout and output choice. */
  prep?: TeacherPrep;
  /** Parameter names for messages (default: a teacher's; dk eval's model: MODEL_PARAMS). */
  names?: PrepNames;
  runtime?: RuntimeOptions;
  progress?: ProgressSink;
}

/** ORT's dims with unknown sizes (no dim_param, or ≤ 0) as '?'. */
function dimsOf(v: ValueInfo): (number | string)[] {
  return v.shape.map((d) => (typeof d === 'number' ? (d > 0 ? d : '?') : d === '' ? '?' : d));
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
    readonly inputDtype: BoundaryFloatType,
    /** Per-example shape fed to the model. */
    readonly feedShape: number[],
    /** Batch size fixed in the file, or null when the batch dimension is free. */
    readonly fixedBatch: number | null,
    readonly classes: number,
    /** Output kind as declared ('auto': detect from the outputs). */
    readonly declared: TeacherOutputs,
    /** Normalisation and layout applied to the data before it is fed. */
    readonly prep: ResolvedPrep,
    /** The data's per-example shape as loaded. */
    private readonly dataShape: number[],
    private readonly names: PrepNames,
  ) {}

  /**
   * Load and check a teacher against the data it will see. Logs (as progress 'log' lines) any
   * reshape or transposition of the input and which output is used when there are several.
   */
  static async load(src: TeacherSource, expect: TeacherExpectation, opts: TeacherLoadOptions = {}): Promise<OnnxTeacher> {
    const log = (text: string) => opts.progress?.({ kind: 'log', text });
    const names = opts.names ?? TEACHER_PARAMS;
    const name = src.name;
    const who = `teacher ${basename(name)}`;
    const refuse = (detail: string) => new UsageError({ param: names.model, value: name, detail });
    let info;
    try {
      info = scanOnnx(src.bytes);
    } catch (e) {
      throw refuse((e as Error).message.split('\n')[0]);
    }
    if (info.externalFiles.length && !src.path) throw refuse(`its tensors are in external data files (${info.externalFiles.join(', ')}); load it from its file so that they can be found`);
    const ours = !!info.metadata[SPEC_KEY];
    const prep = opts.prep ?? {};
    // Normalisation is checked before anything runs.
    const norm = resolveNormalisation(prep, expect.shape, basename(name), names);
    let runner: Runner;
    try {
      runner = await Runner.create(src.path ?? src.bytes, opts.runtime);
    } catch (e) {
      throw refuse((e as Error).message.split('\n')[0]);
    }
    try {
      const { inputs, outputs } = runner.io;
      // Inputs: exactly one, float.
      if (inputs.length !== 1) {
        throw refuse(`a teacher must take exactly one input, this one takes ${inputs.length} (${inputs.map((v) => `${v.name} ${fmt(dimsOf(v))}`).join(', ') || 'none'})`);
      }
      const inp = inputs[0];
      const inShape = dimsOf(inp);
      if (!(BOUNDARY_FLOAT_TYPES as readonly (string | null)[]).includes(inp.type)) throw refuse(`input '${inp.name}' is ${inp.type ?? 'not a tensor'}; a teacher must take float32, float64 or float16 input`);
      if (inShape.length < 2) throw refuse(`input '${inp.name}' has shape ${fmt(inShape)}; expected [N, D], [N, C, H, W] or [N, H, W, C]`);
      const D = featureSize(expect);
      // Our own models take the data as it is stored (channels first, flattened for MLPs).
      const lay = resolveLayout(prep.layout ?? (ours ? 'nchw' : 'auto'), inShape.slice(1), expect.shape, name, names);
      if (lay.note) log(lay.note);
      const [C, H, W] = expect.shape;
      const fedData = lay.layout === 'nhwc' ? [H, W, C] : expect.shape;
      const feedShape = resolveFeedShape(inShape.slice(1), fedData);
      const dataDesc = `the data's examples are ${fmt(expect.shape)} (${D} values)`;
      if (!feedShape) throw refuse(`input '${inp.name}' has shape ${fmt(inShape)} but ${dataDesc}; the per-example element counts must match`);
      const inD = feedShape.reduce((a, b) => a * b, 1);
      if (inD !== D) throw refuse(`input '${inp.name}' has shape ${fmt(inShape)} (${inD} values per example) but ${dataDesc}`);
      const b0 = inShape[0];
      const fixedBatch = typeof b0 === 'number' && b0 > 0 ? b0 : null;
      if (!ours && fmt(feedShape) !== fmt(fedData)) log(`${who}: input ${fmt(inShape)}; data examples ${fmt(fedData)} are reshaped to ${fmt(['N', ...feedShape])} (same ${D} values, row-major)`);
      if (fixedBatch !== null && !ours) log(`${who}: batch size fixed at ${fixedBatch} in the file; running in batches of ${fixedBatch}`);
      if (norm.mean) log(`${who}: inputs normalised per channel, (x − mean) / std with mean ${fmt([...norm.mean])}, std ${fmt([...norm.std!])}`);
      if (inp.type === 'float16') log(`${who}: input '${inp.name}' is float16; the data is cast to it`);
      const outV = chooseOutput(outputs, expect.classes, prep.output, name, names, log, who);
      const outShape = dimsOf(outV);
      if (!isFloatType(outV.type)) throw refuse(`output '${outV.name}' is ${outV.type ?? 'not a tensor'}; a teacher must output float logits or probabilities`);
      if (outShape.length === 1) {
        throw refuse(`output '${outV.name}' has shape ${fmt(outShape)} (no class axis); a teacher must output [N,${expect.classes}] logits or probabilities`);
      }
      const w = width(outShape);
      if (w !== null && w !== expect.classes) {
        throw refuse(`output '${outV.name}' has shape ${fmt(outShape)} (${w} classes) but the data has ${expect.classes} classes (expected [N,${expect.classes}])`);
      }
      const declared = opts.outputs ?? 'auto';
      return new OnnxTeacher(name, teacherHash(src), ours, runner, inp.name, outV.name, inp.type as BoundaryFloatType, feedShape, fixedBatch, expect.classes, declared, { ...norm, layout: lay.layout }, [...expect.shape], names);
    } catch (e) {
      await runner.release();
      throw e;
    }
  }

  /** Raw outputs (logits or probabilities, as the model gives them) for every row of `ds`, n × classes. */
  async outputs(ds: Dataset, progress?: ProgressSink, label = `teacher ${basename(this.name)}`): Promise<Float32Array> {
    if (ds.shape.join() !== this.dataShape.join()) throw new RangeError(`teacher ${this.name}: loaded for examples [${this.dataShape}], given [${ds.shape}]`);
    const phase = progress ? new Phase(progress, `teacher-${this.sha256.slice(0, 8)}-${ds.n}`, label, ds.n) : null;
    let out: Float32Array | null = null;
    let width = 0;
    try {
      const D = featureSize(ds);
      const B = this.fixedBatch ?? 1000;
      const buf = this.inputDtype === 'float64' ? new Float64Array(B * D) : new Float32Array(B * D);
      for (let s = 0; s < ds.n; s += B) {
        const m = Math.min(B, ds.n - s);
        const rows = this.fixedBatch ?? m;
        if (m < rows) buf.fill(0);
        prepareRows(ds.x, s, m, ds.shape, this.prep, buf);
        const o = await this.runner.runFloat({ name: this.inputName, type: this.inputDtype, dims: [rows, ...this.feedShape], data: buf.subarray(0, rows * D) }, this.outputName);
        const w = o.dims.slice(1).reduce((a, b) => a * b, 1);
        if (!out) {
          width = w;
          out = new Float32Array(ds.n * w);
        }
        out.set(o.data.subarray(0, m * w), s * w);
        phase?.tick(s + m);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError({ param: this.names.model, value: this.name, detail: `running it on ${ds.n} examples of shape ${fmt(this.feedShape)} failed: ${(e as Error).message.split('\n')[0]}` });
    } finally {
      phase?.stop();
    }
    if (ds.n > 0 && width !== this.classes) {
      throw new UsageError({ param: this.names.model, value: this.name, detail: `output '${this.outputName}' has shape [N,${width}] (${width} classes) but the data has ${this.classes} classes (expected [N,${this.classes}])` });
    }
    return out ?? new Float32Array(0);
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
      throw new UsageError({ param: 'teacherOutputs', value: 'probs', detail: `teacher ${this.name} outputs negative values (min ${det.minValue.toPrecision(4)}), so they are not probabilities; use {teacherOutputs} logits or auto` });
    }
    const note = det.kind !== this.declared ? `; note: they look like ${det.kind === 'probs' ? 'probabilities' : 'logits'} (${det.reason})` : '';
    return { kind: this.declared, report: `${who}: outputs ${this.declared === 'probs' ? 'probabilities' : 'logits'} as declared by --teacher-outputs${note}` };
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

function isFloatType(d: string | null): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16';
}

/** The per-example element count of a shape whose dims after the batch are all known, else null. */
function width(s: readonly (number | string)[]): number | null {
  return s.length >= 2 && s.slice(1).every((d) => typeof d === 'number') ? (s.slice(1) as number[]).reduce((a, b) => a * b, 1) : null;
}

/**
 * The output holding the class scores: the one named; else the only one; else the one float
 * output shaped [N, classes] (or, when none has that exact shape, the one rank-2 float output
 * whose width is symbolic). Anything else is an error naming the candidates.
 */
function chooseOutput(outputs: ValueInfo[], classes: number, wanted: string | undefined, name: string, names: PrepNames, log: (t: string) => void, who: string): ValueInfo {
  const param = `${names.prefix}output`;
  const list = (vs: ValueInfo[]) => vs.map((o) => `'${o.name}' ${fmt(dimsOf(o))}`).join(', ');
  if (outputs.length === 0) throw new UsageError({ param: names.model, value: name, detail: 'the model has no outputs' });
  if (wanted !== undefined) {
    const o = outputs.find((v) => v.name === wanted);
    if (!o) throw new UsageError({ param, value: wanted, detail: `${name} has no output '${wanted}'; its outputs are ${list(outputs)}` });
    return o;
  }
  if (outputs.length === 1) return outputs[0];
  const rank2 = outputs.filter((o) => isFloatType(o.type) && dimsOf(o).length === 2);
  const exact = rank2.filter((o) => width(dimsOf(o)) === classes);
  const loose = rank2.filter((o) => width(dimsOf(o)) === null);
  const pool = exact.length ? exact : loose;
  if (pool.length === 1) {
    log(`${who}: ${outputs.length} outputs (${list(outputs)}); using '${pool[0].name}' (shaped [N,${classes}])`);
    return pool[0];
  }
  if (pool.length > 1) throw new UsageError({ param: names.model, value: name, detail: `${pool.length} outputs could hold the ${classes} class scores: ${list(pool)}; choose one with {${param}} NAME` });
  throw new UsageError({ param: names.model, value: name, detail: `none of its ${outputs.length} outputs is shaped [N,${classes}] for the data's ${classes} classes: ${list(outputs)}; choose one with {${param}} NAME` });
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

/**
 * Score a model that dark-knowledge did not save (a foreign ONNX classifier) on `data` the way a
 * teacher is run: its class scores as float32 log-probabilities (n × classes), with the kind
 * detected from them. `flag` and `names` name the options in messages (e.g. dk eval's '--model').
 */
export async function foreignLogProbs(
  file: string,
  data: Dataset,
  opts: { prep?: TeacherPrep; names: PrepNames; runtime?: RuntimeOptions; progress?: ProgressSink },
): Promise<{ logProbs: Float32Array; kind: TeacherKind; report: string }> {
  const src = readTeacherFile(file, opts.names.model);
  const t = await OnnxTeacher.load(src, { shape: data.shape, classes: data.classes }, { prep: opts.prep, names: opts.names, runtime: opts.runtime, progress: opts.progress });
  try {
    const out = await t.outputs(data);
    const { kind, report } = t.resolveKind(out, data.n);
    return { logProbs: toLogProbs(out, data.n, data.classes, kind), kind, report };
  } finally {
    await t.release();
  }
}

/** Whether bytes are an ONNX model that dark-knowledge did not save (no model metadata of ours); false for our models and for anything that is not ONNX. */
export function isForeignModel(bytes: Uint8Array): boolean {
  try {
    return !scanOnnx(bytes).metadata[SPEC_KEY];
  } catch {
    return false;
  }
}
