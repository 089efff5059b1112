/**
 * One generic gradient checker, after JAX's `check_vjp`: build a forward graph from input
 * values, take the loss L = Σ_k Σ(y_k ⊙ r_k) with fixed random r_k (so every output element
 * carries its own weight), append our backward pass, and compare the analytic gradient with
 * central differences run through onnxruntime:
 *
 *   directional:  ⟨∇L, v⟩  vs  (L(x + εv) − L(x − εv)) / 2ε   for one random direction v;
 *   per element:  ∂L/∂x_j  vs  (L(x + εe_j) − L(x − εe_j)) / 2ε  when the inputs are small.
 *
 * The step actually taken is the one the graph sees: x ± εv is rounded to the input dtype and
 * the difference of the rounded points is used (exact for piecewise-linear and bilinear ops,
 * which lets float32 checks of Conv/pools use a large ε without rounding noise).
 *
 * Relative errors: directional |a − n| / max(|a|, |n|, ‖∇‖·‖v‖/√dim) (the last term is the
 * typical size of ⟨∇, v⟩, so an unlucky near-orthogonal v does not inflate the error);
 * per element max_j |a_j − n_j| / max_j max(|a_j|, |n_j|), per input.
 *
 * float64 wherever ORT 1.30 CPU has double kernels. Conv, ConvTranspose, AveragePool and
 * MaxUnpool exist only for float (probed), so those checks run in float32 (see rules.test.ts).
 */
import { type GradOptions, backward } from '../../src/autodiff/index.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type DType, type Graph, type Shape, type TensorData, type Value, allocate } from '../../src/graph/ir.js';
import { Runner } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';

export type Sampler = (rng: Rng) => number;
/** Standard normal. */
export const normal: Sampler = (r) => r.normal();
/** Uniform in [lo, hi). */
export const uniform =
  (lo: number, hi: number): Sampler =>
  (r) =>
    lo + (hi - lo) * r.float();
/** Random sign times a magnitude in [lo, hi): keeps away from a kink at 0. */
export const awayFromZero =
  (lo = 0.2, hi = 1.5): Sampler =>
  (r) =>
    (r.float() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r.float());
/** Values ±[lo, hi) near a kink at 0 (e.g. ±1e-3), for Relu/Abs/LeakyRelu. */
export const nearZero = (lo = 5e-4, hi = 2e-3): Sampler => awayFromZero(lo, hi);

/** n distinct values (a shuffled grid of spacing `step` centred on 0): no ties for max/pools. */
export function distinct(n: number, rng: Rng, step = 0.05): number[] {
  const p = rng.permutation(n);
  return Array.from(p, (k) => (k - (n - 1) / 2) * step);
}

export interface InputSpec {
  name: string;
  /** Run-time dims. */
  dims: number[];
  /** Graph shape (symbolic dims such as 'N' allowed); default `dims`. */
  shape?: Shape;
  /** Default: the check's dtype. */
  dtype?: DType;
  /** Default `normal`. */
  sample?: Sampler;
  /** Explicit values (override `sample`). */
  data?: ArrayLike<number>;
  /** Differentiate w.r.t. this input (default: float inputs). */
  wrt?: boolean;
}

export interface CheckSpec {
  /** Case name (unique, for the report). */
  name: string;
  /** The gradient rule under test; must appear in the forward graph. */
  op: string;
  /** Dtype of the inputs unless an input says otherwise (default float64). */
  dtype?: 'float32' | 'float64';
  inputs: InputSpec[];
  /** Build the forward graph; returns the outputs that enter the loss. */
  build(g: GraphBuilder, xs: Value[]): Value | Value[];
  /** Finite-difference step (default 1e-6 in float64, 1e-1 in float32). */
  eps?: number;
  /** Tolerance on both relative errors (default 1e-6 in float64, 1e-5 in float32). */
  tol?: number;
  /** Check each element when the differentiated inputs hold at most this many (default 64). */
  perElement?: number;
  seed?: number;
  /** Gradient formulation choices passed to backward (default: the rules' defaults). */
  grad?: GradOptions;
}

export interface CheckResult {
  name: string;
  op: string;
  dtype: 'float32' | 'float64';
  dirAnalytic: number;
  dirNumeric: number;
  dirErr: number;
  /** null when the per-element check was skipped (too many elements). */
  elemErr: number | null;
  maxErr: number;
  tol: number;
  /** onnxruntime runs made. */
  runs: number;
  /** Shapes of the gradient values, as the builder inferred them. */
  gradShapes: Record<string, Shape>;
}

const ONNX_FLOAT64 = 11;

function toTensor(dtype: DType, dims: number[], x: ArrayLike<number>): TensorData {
  const data = allocate(dtype, x.length);
  if (dtype === 'int64') for (let i = 0; i < x.length; i++) (data as BigInt64Array)[i] = BigInt(x[i]);
  else if (dtype === 'bool') for (let i = 0; i < x.length; i++) (data as Uint8Array)[i] = x[i] ? 1 : 0;
  else (data as Float64Array).set(x);
  return { dtype, dims: [...dims], data };
}

function toF64(t: TensorData): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** Round a float64 array to what an input of `dtype` holds. */
function roundTo(dtype: DType, x: Float64Array): Float64Array {
  return dtype === 'float32' ? Float64Array.from(Float32Array.from(x)) : x;
}

export interface LossGraph {
  graph: Graph;
  /** Names of the differentiated inputs, in spec order, and their gradient outputs. */
  wrt: string[];
  gradShapes: Record<string, Shape>;
}

/**
 * The checked graph: forward, L = Σ_k Σ(cast64(y_k) ⊙ r_k) (r_k fed as inputs 'r0', 'r1', …,
 * float64 so the loss sum adds no float32 rounding), and the backward pass; outputs 'loss' and
 * 'grad:<input>'.
 */
export function buildLossGraph(spec: CheckSpec): LossGraph {
  const dtype = spec.dtype ?? 'float64';
  const g = new GraphBuilder(spec.name.replace(/[^A-Za-z0-9]+/g, '_'));
  const xs = spec.inputs.map((i) => g.input(i.name, i.dtype ?? dtype, i.shape ?? i.dims));
  const built = spec.build(g, xs);
  const ys = Array.isArray(built) ? built : [built];
  if (!g.nodes.some((n) => n.op === spec.op)) throw new RangeError(`${spec.name}: the forward graph has no '${spec.op}' node`);
  const terms = ys.map((y, k) => {
    const r = g.input(`r${k}`, 'float64', y.shape);
    const y64 = y.dtype === 'float64' ? y : g.op('Cast', [y], { to: ONNX_FLOAT64 });
    return g.op('ReduceSum', [g.mul(y64, r)], { keepdims: 0 });
  });
  const loss = terms.length === 1 ? terms[0] : g.op('Sum', terms);
  const wrtVals = xs.filter((x, i) => spec.inputs[i].wrt ?? (x.dtype === 'float32' || x.dtype === 'float64'));
  const grads = backward(g, loss, wrtVals, { grad: spec.grad });
  g.output(g.op('Identity', [loss], {}, { names: ['loss'] }));
  const gradShapes: Record<string, Shape> = {};
  for (const x of wrtVals) {
    const gx = grads.get(x.name);
    if (!gx) throw new RangeError(`${spec.name}: no gradient reached input '${x.name}'`);
    gradShapes[x.name] = gx.shape;
    g.output(g.op('Identity', [gx], {}, { names: [`grad:${x.name}`] }));
  }
  return { graph: g.build(), wrt: wrtVals.map((x) => x.name), gradShapes };
}

/** Run-time dims of an output shape, resolving symbols from the inputs' shapes. */
function resolveDims(shape: Shape, spec: CheckSpec): number[] | undefined {
  const sym = new Map<string, number>();
  for (const i of spec.inputs) (i.shape ?? i.dims).forEach((d, k) => typeof d === 'string' && sym.set(d, i.dims[k]));
  const out: number[] = [];
  for (const d of shape) {
    const v = typeof d === 'number' ? d : sym.get(d);
    if (v === undefined || d === '?') return undefined;
    out.push(v);
  }
  return out;
}

/** Sample the spec's inputs (as float64 arrays, already rounded to their dtype). */
export function sampleInputs(spec: CheckSpec, rng: Rng): Float64Array[] {
  const dtype = spec.dtype ?? 'float64';
  return spec.inputs.map((i) => {
    const n = i.dims.reduce((a, b) => a * b, 1);
    const raw = i.data ? Float64Array.from(i.data) : Float64Array.from({ length: n }, () => (i.sample ?? normal)(rng));
    if (raw.length !== n) throw new RangeError(`${spec.name}: input '${i.name}' has ${raw.length} values, dims [${i.dims}] need ${n}`);
    return roundTo(i.dtype ?? dtype, raw);
  });
}

export async function gradcheck(spec: CheckSpec): Promise<CheckResult> {
  const dtype = spec.dtype ?? 'float64';
  const eps = spec.eps ?? (dtype === 'float64' ? 1e-6 : 1e-1);
  const tol = spec.tol ?? (dtype === 'float64' ? 1e-6 : 1e-5);
  const rng = new Rng(spec.seed ?? 7);
  const { graph, wrt, gradShapes } = buildLossGraph(spec);
  const runner = await Runner.create(graph, { threads: 1 });
  let runs = 0;
  try {
    const xs = sampleInputs(spec, rng);
    const dtypes = spec.inputs.map((i) => i.dtype ?? dtype);
    // r_k: one weight per output element; output dims from the inputs' (or a probe run).
    const rIns = graph.inputs.filter((v) => /^r\d+$/.test(v.name));
    let rDims = rIns.map((v) => resolveDims(v.shape, spec));
    if (rDims.some((d) => d === undefined)) {
      const fwd = new GraphBuilder('probe');
      const fx = spec.inputs.map((i, k) => fwd.input(i.name, dtypes[k], i.shape ?? i.dims));
      const ys = spec.build(fwd, fx);
      (Array.isArray(ys) ? ys : [ys]).forEach((y, k) => fwd.output(fwd.op('Identity', [y], {}, { names: [`y${k}`] })));
      const probe = await Runner.create(fwd.build(), { threads: 1 });
      const feeds: Record<string, TensorData> = {};
      spec.inputs.forEach((i, k) => (feeds[i.name] = toTensor(dtypes[k], i.dims, xs[k])));
      const res = await probe.run(feeds);
      await probe.release();
      rDims = rIns.map((_, k) => res[`y${k}`].dims);
    }
    const rFeeds: Record<string, TensorData> = {};
    rIns.forEach((v, k) => {
      const dims = rDims[k]!;
      const n = dims.reduce((a, b) => a * b, 1);
      rFeeds[v.name] = toTensor('float64', dims, Float64Array.from({ length: n }, () => rng.normal()));
    });
    const feedsAt = (vals: Float64Array[]): Record<string, TensorData> => {
      const f: Record<string, TensorData> = { ...rFeeds };
      spec.inputs.forEach((i, k) => (f[i.name] = toTensor(dtypes[k], i.dims, vals[k])));
      return f;
    };
    const lossAt = async (vals: Float64Array[]): Promise<number> => {
      runs++;
      const res = await runner.run(feedsAt(vals), ['loss']);
      return Number(res.loss.data[0]);
    };

    runs++;
    const res0 = await runner.run(feedsAt(xs));
    const wrtIdx = wrt.map((nm) => spec.inputs.findIndex((i) => i.name === nm));
    const grads = wrt.map((nm) => toF64(res0[`grad:${nm}`]));
    grads.forEach((gr, j) => {
      if (gr.length !== xs[wrtIdx[j]].length) throw new RangeError(`${spec.name}: gradient of '${wrt[j]}' has ${gr.length} elements, the input ${xs[wrtIdx[j]].length}`);
      if (!gr.every(Number.isFinite)) throw new RangeError(`${spec.name}: gradient of '${wrt[j]}' is not finite`);
    });

    // Directional check along a random v (the rounded step actually taken).
    const plus = xs.slice();
    const minus = xs.slice();
    for (const k of wrtIdx) {
      const v = Float64Array.from(xs[k], () => rng.normal());
      plus[k] = roundTo(dtypes[k], xs[k].map((x, i) => x + eps * v[i]));
      minus[k] = roundTo(dtypes[k], xs[k].map((x, i) => x - eps * v[i]));
    }
    const dirNumeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
    let dirAnalytic = 0;
    let gn = 0;
    let vn = 0;
    let dim = 0;
    wrtIdx.forEach((k, j) => {
      for (let i = 0; i < xs[k].length; i++) {
        const vi = (plus[k][i] - minus[k][i]) / (2 * eps);
        dirAnalytic += grads[j][i] * vi;
        gn += grads[j][i] ** 2;
        vn += vi * vi;
      }
      dim += xs[k].length;
    });
    const scale = Math.max(Math.abs(dirAnalytic), Math.abs(dirNumeric), Math.sqrt(gn) * Math.sqrt(vn / dim), 1e-300);
    const dirErr = Math.abs(dirAnalytic - dirNumeric) / scale;

    // Per-element check for small inputs.
    let elemErr: number | null = null;
    if (dim <= (spec.perElement ?? 64)) {
      elemErr = 0;
      for (let j = 0; j < wrtIdx.length; j++) {
        const k = wrtIdx[j];
        const num = new Float64Array(xs[k].length);
        for (let i = 0; i < xs[k].length; i++) {
          const p = xs.slice();
          const m = xs.slice();
          p[k] = xs[k].slice();
          m[k] = xs[k].slice();
          p[k][i] += eps;
          m[k][i] -= eps;
          p[k] = roundTo(dtypes[k], p[k]);
          m[k] = roundTo(dtypes[k], m[k]);
          num[i] = ((await lossAt(p)) - (await lossAt(m))) / (p[k][i] - m[k][i]);
        }
        let s = 1e-300;
        let d = 0;
        for (let i = 0; i < num.length; i++) {
          s = Math.max(s, Math.abs(num[i]), Math.abs(grads[j][i]));
          d = Math.max(d, Math.abs(num[i] - grads[j][i]));
        }
        elemErr = Math.max(elemErr, d / s);
      }
    }
    return {
      name: spec.name,
      op: spec.op,
      dtype,
      dirAnalytic,
      dirNumeric,
      dirErr,
      elemErr,
      maxErr: Math.max(dirErr, elemErr ?? 0),
      tol,
      runs,
      gradShapes,
    };
  } finally {
    await runner.release();
  }
}
