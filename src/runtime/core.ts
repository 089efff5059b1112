/**
 * The runtime, backend-neutral: compiles graphs into sessions, converts between our TensorData
 * and ORT tensors, and keeps a training step's state (weights, optimiser state) in preallocated
 * buffers fed back step after step. It imports no onnxruntime package and no Node API: the
 * backend (onnxruntime-node in session.ts, onnxruntime-web in web.ts; both implement
 * onnxruntime-common's interface) is injected with `setOrtBackend`, so the same code runs in
 * Node and in the browser bundle.
 */
import type * as ortTypes from 'onnxruntime-common';
import { type DType, type Graph, type TensorData, allocate, numel } from '../graph/ir.js';
import { toOnnxBytes } from '../graph/onnx.js';
import { NCHWC_DOMAIN, lowerConvsToNchwc } from '../graph/nchwc.js';
import { NATIVE_DOMAIN, lowerToNative, usesNativeOps } from '../graph/native-ops.js';
import type { GradOptions } from '../autodiff/types.js';
import { fromHalfArray, toHalfArray } from './float16.js';

export interface RuntimeOptions {
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  /** ORT graph optimisation level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write an ORT profile (JSON) with this file prefix. */
  profilePrefix?: string;
  /**
   * Intra-op threads spin while waiting for work. Default: no (onnxruntime's own default is yes),
   * unless OMP_WAIT_POLICY=ACTIVE is set (the variable PyTorch's OpenMP obeys; defaultSpinning).
   * Alone on an idle 2-core machine spinning made the steps 1.03–1.18× faster, but beside any
   * other busy process both lose: on a shared machine it cost 1.3–1.65×, and in bench:peer our
   * spinning threads slowed PyTorch's passes of the resnet row from ~1,050 to 730–870 samples/s
   * (bench/README.md). Sessions that take turns every step (an online teacher and its student,
   * the replicas' update and shards) take each other's cores with it: those ask for
   * `alternating(rt)`, which keeps it off unless `spinning` itself is set.
   */
  spinning?: boolean;
  /**
   * ORT memory-pattern planning. Default false (ORT's own default is true): the plan reserves one
   * block for every intermediate of a run, and a run here is 8 unrolled training steps; without
   * it peak RSS fell from 758 to 463 MB (cnn KD step), 1330 to 757 MB (resnet), 540 to 344 MB
   * (mobilenet), at the same speed (within ±5% on every bench row, bench/README.md).
   */
  memPattern?: boolean;
  /** ORT's CPU memory arena (default true). */
  cpuArena?: boolean;
  /** Extra ORT session config entries, keys without the 'session.' prefix (e.g. 'set_denormal_as_zero'). */
  sessionConfig?: Record<string, string>;
  /**
   * Rewrite the Convs of a compiled Graph whose weights are fed at run time into onnxruntime's
   * blocked NCHWc layout (graph/nchwc.ts), where the backend has those kernels (x86 with AVX2 or
   * AVX-512 in onnxruntime-node; not onnxruntime-web). Default true; false keeps plain Convs.
   */
  nchwc?: boolean;
  /**
   * Training only (Node): data-parallel replicas of the step (src/train/replicas.ts), each a
   * session on a shard of the batch with threads/replicas intra-op threads. Default 'auto': one
   * per thread for convolutional networks without BatchNorm while shards keep ≥ 32 rows, else 1.
   * Sessions other than a training's step ignore it.
   */
  replicas?: number | 'auto';
  /**
   * Where the native kernels are installed (runtime/native.ts): run a graph's training-mode
   * BatchNormalizations by the native BatchNormTrain (graph/native-ops.ts lowerToNative).
   * Default true.
   */
  nativeBatchNorm?: boolean;
  /**
   * Likewise the 2-D float32 Convs whose weights are fed at run time (a training step's): oneDNN's
   * forward instead of onnxruntime's (NCHWc where it fits). Default true: cnn step 1.06×,
   * mobilenet 1.06×, resnet 0.99× (bench/README.md). Convs with constant weights (inference
   * graphs) keep onnxruntime's, which prepacks them.
   */
  nativeConv?: boolean;
}

/** What the runtime needs of an onnxruntime package (onnxruntime-node and onnxruntime-web both provide it). */
export interface OrtBackend {
  Tensor: typeof ortTypes.Tensor;
  InferenceSession: typeof ortTypes.InferenceSession;
}

/** What Runner needs of a session: onnxruntime's InferenceSession, or a native one (runtime/native.ts). */
export type SessionLike = Pick<ortTypes.InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata' | 'run' | 'release' | 'endProfiling'>;

/**
 * Sessions for graphs that use dark-knowledge's native operators (graph/native-ops.ts): the
 * Node runtime installs them (runtime/native.ts) where the addon is built; elsewhere there are none.
 */
export interface NativeSessionFactory {
  /** What runs them, e.g. 'oneDNN 2.6.3 in onnxruntime 1.30.0'. */
  readonly description: string;
  create(model: Uint8Array, opts: RuntimeOptions): Promise<SessionLike>;
}

let nativeFactory: NativeSessionFactory | null = null;

/** Install (or, with null, remove) the native session factory. */
export function setNativeSessions(f: NativeSessionFactory | null): void {
  nativeFactory = f;
}

/** The installed native session factory, if any. */
export function nativeSessions(): NativeSessionFactory | null {
  return nativeFactory;
}

/**
 * The gradient formulations training graphs take where the native operators are installed
 * (explicit GradOptions override them); none elsewhere. Measured faster on the conv rows
 * (bench/README.md).
 */
export function nativeGradForms(): GradOptions {
  return nativeFactory ? { convWeightGrad: 'native', convInputGrad: 'native', maxPoolGrad: 'native', batchNormGrad: 'native', maskGrad: 'native', globalPoolGrad: 'native' } : {};
}

/** What a backend does differently. */
export interface BackendTraits {
  /**
   * Whether `session.run(feeds, fetches)` writes outputs into preallocated tensors given in
   * `fetches`. onnxruntime-node does; onnxruntime-web 1.30 (wasm) returns such a tensor as given,
   * unwritten (measured: a Relu's preallocated output stayed all zeros), so runInto copies there.
   */
  writesPreallocatedOutputs: boolean;
}

let backend: OrtBackend | undefined;
let backendName = '';
let traits: BackendTraits = { writesPreallocatedOutputs: true };

/** Install the onnxruntime implementation every Runner uses (session.ts and web.ts do this on import). */
export function setOrtBackend(b: OrtBackend, name: string, t: BackendTraits = { writesPreallocatedOutputs: true }): void {
  if (backend && backend !== b) throw new Error(`runtime: the onnxruntime backend is already ${backendName}; cannot switch to ${name} in one process`);
  backend = b;
  backendName = name;
  traits = t;
}

/** The installed backend's name ('onnxruntime-node', 'onnxruntime-web'). */
export function ortBackendName(): string {
  return backendName;
}

function ortOf(): OrtBackend {
  if (!backend) throw new Error('runtime: no onnxruntime backend installed; import runtime/session.js (Node) or runtime/web.js (browser)');
  return backend;
}

const ORT_TYPE: Record<DType, ortTypes.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  uint8: 'uint8',
};

export function toOrt(t: TensorData): ortTypes.Tensor {
  return new (ortOf().Tensor)(ORT_TYPE[t.dtype], t.data as never, t.dims);
}

export function fromOrt(t: ortTypes.Tensor): TensorData {
  const dtype = t.type as DType;
  if (!(dtype in ORT_TYPE)) throw new RangeError(`unsupported output type ${t.type}`);
  return { dtype, dims: [...t.dims], data: t.data as TensorData['data'] };
}

/**
 * Whether intra-op threads spin when RuntimeOptions.spinning is unset: only where the environment
 * sets OMP_WAIT_POLICY=ACTIVE (no environment, as in a browser: no).
 */
export function defaultSpinning(): boolean {
  const policy = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.OMP_WAIT_POLICY;
  return policy?.trim().toLowerCase() === 'active';
}

/**
 * Options for a session that takes turns with another busy session every step (an online
 * teacher and its student; the replicas' update and shard sessions): no spinning unless
 * `rt.spinning` says so, whatever OMP_WAIT_POLICY asks — one session's spinning threads would
 * hold the cores the other needs (measured: the online KD step 0.69×, the replicated cnn step
 * 0.76× with them spinning).
 */
export function alternating(rt: RuntimeOptions = {}): RuntimeOptions {
  return { ...rt, spinning: rt.spinning ?? false };
}

/** The onnxruntime session options `o` stands for (exported for tests). */
export function sessionOptions(o: RuntimeOptions): ortTypes.InferenceSession.SessionOptions {
  const so: ortTypes.InferenceSession.SessionOptions = {
    graphOptimizationLevel: o.optimization ?? 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
  };
  if (o.threads !== undefined) so.intraOpNumThreads = o.threads;
  so.enableMemPattern = o.memPattern ?? false;
  if (o.cpuArena !== undefined) so.enableCpuMemArena = o.cpuArena;
  const config: Record<string, string> = { ...o.sessionConfig };
  if (o.spinning !== undefined || !('intra_op.allow_spinning' in config)) config['intra_op.allow_spinning'] = (o.spinning ?? defaultSpinning()) ? '1' : '0';
  so.extra = { session: config };
  if (o.profilePrefix) {
    so.enableProfiling = true;
    so.profileFilePrefix = o.profilePrefix;
  }
  return so;
}

/** A model input or output as onnxruntime declares it: element type ('float32', 'float16', …; null for a non-tensor) and shape (symbolic dims as strings). */
export interface ValueInfo {
  name: string;
  type: string | null;
  shape: (number | string)[];
}

/** Float element types a model may take or give at its boundary: fed from / returned as float32. */
export const BOUNDARY_FLOAT_TYPES = ['float32', 'float64', 'float16'] as const;
export type BoundaryFloatType = (typeof BOUNDARY_FLOAT_TYPES)[number];

let nchwcBlock: Promise<number> | undefined;

/**
 * MLAS's NCHWc block size in the installed backend (16 with AVX-512, 8 with AVX2), or 0 where it
 * has no com.microsoft.nchwc kernels: asked once, by compiling and running a ReorderInput of four
 * channels (the fewest it takes; its output has the channel count rounded up to the block size).
 */
export function nchwcBlockSize(): Promise<number> {
  nchwcBlock ??= (async () => {
    const probe: Graph = {
      name: 'nchwc_probe',
      opset: 18,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4, 1, 1] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, '?', 1, 1] }],
      initializers: new Map(),
      nodes: [{ name: 'reorder', op: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: ['x'], outputs: ['y'], attrs: {} }],
      values: new Map([
        ['x', { name: 'x', dtype: 'float32', shape: [1, 4, 1, 1] }],
        ['y', { name: 'y', dtype: 'float32', shape: [1, '?', 1, 1] }],
      ]),
    };
    try {
      const s = await ortOf().InferenceSession.create(toOnnxBytes(probe), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
      try {
        const r = await s.run({ x: new (ortOf().Tensor)('float32', new Float32Array(4), [1, 4, 1, 1]) });
        const b = Number(r.y.dims[1]);
        return Number.isInteger(b) && b >= 2 ? b : 0;
      } finally {
        await s.release();
      }
    } catch {
      return 0; // no such kernels here (e.g. onnxruntime-web, or a CPU without AVX2)
    }
  })();
  return nchwcBlock;
}

/** A compiled graph. */
export class Runner {
  private constructor(
    private session: SessionLike,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /**
   * Compile a graph, ONNX bytes, or an ONNX file given by its path (onnxruntime reads the file
   * itself, so external data files next to it are found).
   */
  static async create(model: Graph | Uint8Array | string, opts: RuntimeOptions = {}): Promise<Runner> {
    let s: SessionLike;
    let graph = typeof model !== 'string' && !(model instanceof Uint8Array) ? model : null;
    // training-mode BatchNormalizations and fed-weight Convs by the native kernels, where installed (lowerToNative)
    if (graph && nativeFactory && (opts.nativeBatchNorm ?? true)) graph = lowerToNative(graph, { conv: opts.nativeConv ?? true });
    const native = graph !== null && usesNativeOps(graph);
    if (graph && native && !nativeFactory) {
      const ops = [...new Set(graph.nodes.filter((n) => n.domain === NATIVE_DOMAIN).map((n) => n.op))].join(', ');
      throw new RangeError(
        `graph '${graph.name}' uses dark-knowledge's native operators (${ops}), which this process has not loaded ` +
          `(only the Node runtime has them, built by \`npm run build\` where g++ and libdnnl-dev are installed); build it with other GradOptions forms`,
      );
    }
    try {
      if (typeof model === 'string') s = await ortOf().InferenceSession.create(model, sessionOptions(opts));
      else if (model instanceof Uint8Array || !graph) s = await ortOf().InferenceSession.create(model as Uint8Array, sessionOptions(opts));
      else {
        const block = (opts.nchwc ?? true) && graph.nodes.some((n) => n.op === 'Conv') ? await nchwcBlockSize() : 0;
        const bytes = toOnnxBytes(block ? lowerConvsToNchwc(graph, block) : graph);
        s = native ? await nativeFactory!.create(bytes, opts) : await ortOf().InferenceSession.create(bytes, sessionOptions(opts));
      }
    } catch (e) {
      throw new RangeError(`onnxruntime could not load the model: ${(e as Error).message.split('\n')[0]}`);
    }
    return new Runner(s, s.inputNames, s.outputNames);
  }

  /** Declared input/output metadata (shapes with symbolic dims as strings). */
  get inputMetadata(): readonly ortTypes.InferenceSession.ValueMetadata[] {
    return this.session.inputMetadata;
  }
  get outputMetadata(): readonly ortTypes.InferenceSession.ValueMetadata[] {
    return this.session.outputMetadata;
  }

  /** Inputs and outputs as declared in the model (names, element types, shapes). */
  get io(): { inputs: ValueInfo[]; outputs: ValueInfo[] } {
    const info = (m: ortTypes.InferenceSession.ValueMetadata): ValueInfo => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: null, shape: [] });
    return { inputs: this.session.inputMetadata.map(info), outputs: this.session.outputMetadata.map(info) };
  }

  /**
   * Run with one float input, cast at the boundary: `data` (float32 or float64 values) is fed as
   * `type` (float16 rounded to nearest even), and the output, whatever float type it has, comes
   * back as float32.
   */
  async runFloat(input: { name: string; type: BoundaryFloatType; dims: number[]; data: Float32Array | Float64Array }, outputName: string): Promise<{ dims: number[]; data: Float32Array }> {
    let t: ortTypes.Tensor;
    if (input.type === 'float16') t = new (ortOf().Tensor)('float16', toHalfArray(input.data), input.dims);
    else if (input.type === 'float64') t = new (ortOf().Tensor)('float64', input.data instanceof Float64Array ? input.data : Float64Array.from(input.data), input.dims);
    else t = new (ortOf().Tensor)('float32', input.data instanceof Float32Array ? input.data : Float32Array.from(input.data), input.dims);
    const res = await this.session.run({ [input.name]: t }, [outputName]);
    const o = res[outputName];
    const dims = [...o.dims];
    switch (o.type) {
      case 'float32':
        return { dims, data: o.data as Float32Array };
      case 'float64':
        return { dims, data: Float32Array.from(o.data as Float64Array) };
      case 'float16':
        return { dims, data: o.data instanceof Uint16Array ? fromHalfArray(o.data) : Float32Array.from(o.data as ArrayLike<number>) };
      default:
        throw new RangeError(`output '${outputName}' is ${o.type}, not a float type`);
    }
  }

  async run(feeds: Record<string, TensorData>, fetch?: readonly string[]): Promise<Record<string, TensorData>> {
    const f: Record<string, ortTypes.Tensor> = {};
    for (const k of Object.keys(feeds)) f[k] = toOrt(feeds[k]);
    const res = fetch ? await this.session.run(f, fetch) : await this.session.run(f);
    const out: Record<string, TensorData> = {};
    for (const k of Object.keys(res)) out[k] = fromOrt(res[k]);
    return out;
  }

  /** Run writing outputs into preallocated tensors (no allocation per call). */
  async runInto(feeds: Record<string, TensorData>, outs: Record<string, TensorData>): Promise<void> {
    const f: Record<string, ortTypes.Tensor> = {};
    for (const k of Object.keys(feeds)) f[k] = toOrt(feeds[k]);
    if (!traits.writesPreallocatedOutputs) {
      const res = await this.session.run(f, Object.keys(outs));
      for (const k of Object.keys(outs)) {
        const got = res[k].data as TensorData['data'];
        if (got.length !== outs[k].data.length) throw new RangeError(`output '${k}': ${got.length} values, the preallocated tensor holds ${outs[k].data.length}`);
        (outs[k].data as Float32Array).set(got as Float32Array);
      }
      return;
    }
    const o: Record<string, ortTypes.Tensor> = {};
    for (const k of Object.keys(outs)) o[k] = toOrt(outs[k]);
    await this.session.run(f, o);
  }

  async endProfiling(): Promise<void> {
    await this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A state value carried from one step to the next: `input` is fed, and either `output` is its
 * update, or `carryFrom` names another state whose value as fed to this step becomes this one's
 * (the previous weights, say: handed over without a copy).
 */
export interface StateBinding {
  input: string;
  output?: string;
  carryFrom?: string;
  /**
   * The update may be written into the fed buffer (graph/inplace.ts: every reader of `input`
   * runs before the writer of `output`); one buffer instead of two.
   */
  inPlace?: boolean;
}

/**
 * A training step: state (weights, optimiser buffers) lives in preallocated buffers, one fed and
 * another written, swapped after each step, so a step allocates no state and never feeds a buffer
 * it is writing; except for bindings marked inPlace, whose single buffer is both fed and written
 * (safe by construction), and carried states, which take over their source's fed buffer (whose
 * own old buffer then becomes the source's next output buffer: three buffers in rotation).
 *
 * With `preallocate: false` the state outputs are taken as onnxruntime returns them instead.
 * (onnxruntime-node 1.30 copies every output into a fresh ArrayBuffer even when a preallocated
 * one is given, so neither way avoids that copy; fewer output bytes is what pays.)
 */
export class StepRunner {
  private front: Map<string, TensorData>;
  private back: Map<string, TensorData>;
  private extraOut = new Map<string, TensorData>();
  private readonly preallocate: boolean;
  private readonly updated: (StateBinding & { output: string })[];
  private readonly carried: (StateBinding & { carryFrom: string })[];

  constructor(
    readonly runner: Runner,
    readonly bindings: readonly StateBinding[],
    initial: Map<string, TensorData>,
    opts: { preallocate?: boolean } = {},
  ) {
    this.preallocate = opts.preallocate ?? true;
    this.updated = bindings.filter((b): b is StateBinding & { output: string } => b.output !== undefined);
    this.carried = bindings.filter((b): b is StateBinding & { carryFrom: string } => b.carryFrom !== undefined);
    if (this.updated.length + this.carried.length !== bindings.length) throw new RangeError('each state binding needs exactly one of output, carryFrom');
    for (const c of this.carried) {
      const src = this.updated.find((b) => b.input === c.carryFrom);
      if (!src || src.inPlace) throw new RangeError(`state '${c.input}' carries '${c.carryFrom}', which is not an updated (double-buffered) state`);
      if (this.carried.some((o) => o !== c && o.carryFrom === c.carryFrom)) throw new RangeError(`two states carry '${c.carryFrom}'`);
    }
    this.front = new Map();
    this.back = new Map();
    const copy = (t: TensorData): TensorData => ({ dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TensorData['data'] });
    for (const b of bindings) {
      const t = initial.get(b.input);
      if (!t) throw new RangeError(`no initial value for state '${b.input}'`);
      const f = copy(t);
      this.front.set(b.input, f);
      if (b.output !== undefined) this.back.set(b.input, b.inPlace ? f : copy(t));
    }
  }

  /**
   * One step. `fetch` names extra outputs (loss, metrics) with their dtype and dims; they are
   * returned in buffers reused from step to step (preallocated), or fresh ones (not preallocated).
   */
  async step(batch: Record<string, TensorData>, fetch: Record<string, { dtype: DType; dims: number[] }> = {}): Promise<Record<string, TensorData>> {
    const feeds: Record<string, TensorData> = { ...batch };
    for (const b of this.bindings) feeds[b.input] = this.front.get(b.input)!;
    if (!this.preallocate) {
      const names = [...this.updated.map((b) => b.output), ...Object.keys(fetch)];
      const got = await this.runner.run(feeds, names);
      for (const c of this.carried) this.front.set(c.input, this.front.get(c.carryFrom)!);
      for (const b of this.updated) this.front.set(b.input, got[b.output]);
      const res: Record<string, TensorData> = {};
      for (const k of Object.keys(fetch)) res[k] = got[k];
      return res;
    }
    const outs: Record<string, TensorData> = {};
    for (const b of this.updated) outs[b.output] = this.back.get(b.input)!;
    for (const k of Object.keys(fetch)) {
      const spec = fetch[k];
      let t = this.extraOut.get(k);
      if (!t || t.dims.join() !== spec.dims.join()) {
        t = { dtype: spec.dtype, dims: [...spec.dims], data: allocate(spec.dtype, numel(spec.dims)) };
        this.extraOut.set(k, t);
      }
      outs[k] = t;
    }
    await this.runner.runInto(feeds, outs);
    const front = new Map<string, TensorData>();
    const back = new Map<string, TensorData>();
    for (const b of this.updated) {
      front.set(b.input, this.back.get(b.input)!);
      back.set(b.input, this.front.get(b.input)!);
    }
    for (const c of this.carried) {
      front.set(c.input, this.front.get(c.carryFrom)!); // the source as fed this step
      back.set(c.carryFrom, this.front.get(c.input)!); // the old carried buffer is free: the source's next output
    }
    this.front = front;
    this.back = back;
    const res: Record<string, TensorData> = {};
    for (const k of Object.keys(fetch)) res[k] = outs[k];
    return res;
  }

  /** The current state (live buffers; copy before keeping). */
  get state(): ReadonlyMap<string, TensorData> {
    return this.front;
  }

  /** Overwrite the current state (e.g. from a checkpoint). */
  setState(values: Map<string, TensorData>): void {
    for (const [k, v] of values) {
      const t = this.front.get(k);
      if (!t) throw new RangeError(`unknown state '${k}'`);
      if (t.data.length !== v.data.length) throw new RangeError(`state '${k}': expected ${t.data.length} elements, got ${v.data.length}`);
      (t.data as Float32Array).set(v.data as Float32Array);
    }
  }
}
