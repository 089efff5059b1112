/**
 * Gradient rules as data: one entry per op type, returning one gradient per input (or null).
 * Rules may return broadcast-shaped gradients; the walker (walker.ts) sums them down, and
 * accumulates fan-out. Each rule says its formula; all are checked against central finite
 * differences in test/autodiff.
 */
import type { GraphBuilder } from '../graph/builder.js';
import type { Value } from '../graph/ir.js';
import { attrInt, attrInts, constInts } from '../graph/shapes.js';
import type { GradCtx, GradOptions, GradRule } from './types.js';
import { UnsupportedAttributeError } from './attrs.js';
import { NATIVE_DOMAIN } from '../graph/native-ops.js';

const ONNX_DTYPE: Record<string, number> = { float32: 1, float64: 11 };

function gyOf(c: GradCtx, i = 0): Value {
  const v = c.gy[i];
  if (!v) throw new RangeError(`${c.node.op}: missing output gradient`);
  return v;
}
function inp(c: GradCtx, i: number): Value {
  const v = c.inputs[i];
  if (!v) throw new RangeError(`${c.node.op}: missing input ${i}`);
  return v;
}
function out(c: GradCtx, i = 0): Value {
  const v = c.outputs[i];
  if (!v) throw new RangeError(`${c.node.op}: missing output ${i}`);
  return v;
}
const zero = (g: GraphBuilder, like: Value) => g.s(like, 0);
/**
 * MaxPool with b×b windows at stride b: each window's top-left index in X flattened over N·C·H·W,
 * ((n·C + c)·H + b·h)·W + b·w, as [N, C, Ho, Wo] (int64; the arg-max's offset in its window is
 * added to it).
 */
function maxPoolBase(g: GraphBuilder, shapeX: Value, X: Value, C: number, H: number, W: number, Ho: number, Wo: number, b: number): Value {
  const origin = new BigInt64Array(C * Ho * Wo);
  for (let ch = 0; ch < C; ch++) for (let h = 0; h < Ho; h++) for (let w = 0; w < Wo; w++) origin[(ch * Ho + h) * Wo + w] = BigInt((ch * H + b * h) * W + b * w);
  const n = g.op('Range', [g.scalar(0, 'int64'), g.op('Gather', [shapeX, g.scalar(0, 'int64')], { axis: 0 }), g.scalar(1, 'int64')], {}, { out: [{ dtype: 'int64', shape: [X.shape[0]] }] });
  const nBase = g.mul(g.reshape(n, [-1, 1, 1, 1]), g.scalar(C * H * W, 'int64'));
  return g.add(nBase, g.const({ dtype: 'int64', dims: [1, C, Ho, Wo], data: origin }, 'maxpool_origin'));
}
/** Conv gradient formulations used unless GradOptions says otherwise (types.ts; bench/README.md). */
export const DEFAULT_CONV_INPUT_GRAD: NonNullable<GradOptions['convInputGrad']> = 'conv';
export const DEFAULT_CONV_WEIGHT_GRAD: NonNullable<GradOptions['convWeightGrad']> = 'offsets';
export const DEFAULT_BN_GRAD: NonNullable<GradOptions['batchNormGrad']> = 'fused';
export const DEFAULT_MASK_GRAD: NonNullable<GradOptions['maskGrad']> = 'mul';
export const DEFAULT_IM2COL_PATCH_LIMIT = 2;
export const DEFAULT_MAXPOOL_GRAD: NonNullable<GradOptions['maxPoolGrad']> = 'argmax';
/** A FLOAT attribute as ORT sees it: ONNX stores it in 32 bits (so 0.1 is fround(0.1)). */
const attrFloat = (c: GradCtx, k: string, dflt: number) => Math.fround(attrInt(c.node.attrs, k, dflt));
/** gy reshaped back to x's (possibly symbolic) shape at run time. */
function reshapeLike(g: GraphBuilder, gy: Value, x: Value): Value {
  return g.op('Reshape', [gy, g.op('Shape', [x])], {}, { out: [{ dtype: gy.dtype, shape: [...x.shape] }] });
}
function expandLike(g: GraphBuilder, gy: Value, x: Value): Value {
  return g.op('Expand', [gy, g.op('Shape', [x])], {}, { out: [{ dtype: gy.dtype, shape: [...x.shape] }] });
}
/** Number of elements of x along `axes`, as a scalar of x's dtype (static when known). */
function countAlong(g: GraphBuilder, x: Value, axes: number[]): Value {
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d) => typeof d === 'number')) return g.s(x, (dims as number[]).reduce((p, q) => p * q, 1));
  const sh = g.op('Shape', [x]);
  const sel = g.op('Gather', [sh, g.ints(axes)], { axis: 0 });
  const prod = g.op('ReduceProd', [sel, g.ints([0])], { keepdims: 0 }, { out: [{ dtype: 'int64', shape: [] }] });
  return g.op('Cast', [prod], { to: ONNX_DTYPE[x.dtype] });
}
function normAxes(axes: number[] | undefined, rank: number): number[] {
  const a = axes && axes.length ? axes : [...Array(rank).keys()];
  return a.map((k) => (k < 0 ? k + rank : k)).sort((p, q) => p - q);
}
/** A value the rule cannot handle: refused, naming node, op and input or attribute (as attrs.ts does). */
function unsupported(c: GradCtx, what: string, shown: string, supported: string): UnsupportedAttributeError {
  return new UnsupportedAttributeError(c.node.op, c.node.name, what, `node '${c.node.name}' (${c.node.op}): ${what}=${shown} is not supported by its gradient rule (supported: ${supported})`);
}
/** Input i's integer values, which the rule needs at build time (a run-time value is refused). */
function constantInput(c: GradCtx, i: number, what: string): number[] {
  const v = constInts(c.g.constOf(c.inputs[i]));
  if (!v) throw unsupported(c, what, '<computed at run time>', 'a constant');
  return v;
}
/** The reduce node's axes (input 1 at opset ≥ 13/18) and keepdims. */
function reduceInfo(c: GradCtx): { axes: number[]; keep: boolean } {
  const x = inp(c, 0);
  const axes = normAxes(c.inputs[1] ? constantInput(c, 1, 'axes') : attrInts(c.node.attrs, 'axes'), x.shape.length);
  return { axes, keep: attrInt(c.node.attrs, 'keepdims', 1) === 1 };
}
/** gy of a reduction brought back to rank of x (size 1 on reduced axes). */
function unreduce(c: GradCtx, gy: Value): Value {
  const { axes, keep } = reduceInfo(c);
  return keep ? gy : c.g.op('Unsqueeze', [gy, c.g.ints(axes)]);
}

const elementwise = (f: (c: GradCtx, gy: Value) => Value): GradRule => (c) => [f(c, gyOf(c))];

export const GRAD_RULES: Record<string, GradRule> = {
  Identity: (c) => [gyOf(c)],
  // y = a + b: da = gy, db = gy (unbroadcast by the walker)
  Add: (c) => [gyOf(c), gyOf(c)],
  Sum: (c) => c.inputs.map(() => gyOf(c)),
  // y = a − b: da = gy, db = −gy
  Sub: (c) => [gyOf(c), c.needs[1] ? c.g.neg(gyOf(c)) : null],
  // y = a·b: da = gy·b, db = gy·a
  Mul: (c) => [c.needs[0] ? c.g.mul(gyOf(c), inp(c, 1)) : null, c.needs[1] ? c.g.mul(gyOf(c), inp(c, 0)) : null],
  // y = a/b: da = gy/b, db = −gy·y/b
  Div: (c) => {
    const { g } = c;
    const gy = gyOf(c);
    return [c.needs[0] ? g.div(gy, inp(c, 1)) : null, c.needs[1] ? g.neg(g.div(g.mul(gy, out(c)), inp(c, 1))) : null];
  },
  Neg: elementwise((c, gy) => c.g.neg(gy)),
  // y = max(x, 0): dx = gy·[x > 0] (0 at the kink). 'mul' (default): gy·Cast(y > 0) — the mask
  // from the output, which the next layer holds anyway; 'where': Where(x > 0, gy, 0)
  // (onnxruntime's Where with a scalar branch is ~3× slower than a Mul, and its Sign ~5×: issue 18).
  Relu: elementwise((c, gy) => {
    const { g } = c;
    if (c.opts.maskGrad === 'native' && gy.dtype === 'float32') {
      const y = out(c);
      return g.op('ReluGrad', [y, gy], {}, { domain: NATIVE_DOMAIN, out: [{ dtype: gy.dtype, shape: [...y.shape] }] });
    }
    if ((c.opts.maskGrad ?? DEFAULT_MASK_GRAD) === 'where') return g.op('Where', [g.op('Greater', [inp(c, 0), zero(g, inp(c, 0))]), gy, zero(g, gy)]);
    const y = out(c);
    return g.mul(gy, g.op('Cast', [g.op('Greater', [y, zero(g, y)])], { to: ONNX_DTYPE[gy.dtype] }));
  }),
  // y = x (x > 0), αx otherwise
  LeakyRelu: elementwise((c, gy) => {
    const { g } = c;
    const alpha = attrFloat(c, 'alpha', 0.01);
    return g.op('Where', [g.op('Greater', [inp(c, 0), zero(g, gy)]), gy, g.mul(gy, g.s(gy, alpha))]);
  }),
  // y = tanh x: dx = gy·(1 − y²)
  Tanh: elementwise((c, gy) => {
    const { g } = c;
    const y = out(c);
    return g.mul(gy, g.sub(g.s(y, 1), g.mul(y, y)));
  }),
  // y = σ(x): dx = gy·y·(1 − y)
  Sigmoid: elementwise((c, gy) => {
    const { g } = c;
    const y = out(c);
    return g.mul(gy, g.mul(y, g.sub(g.s(y, 1), y)));
  }),
  // y = max(0, min(1, αx + β)): dx = gy·α where 0 < αx + β < 1
  HardSigmoid: elementwise((c, gy) => {
    const { g } = c;
    const x = inp(c, 0);
    const alpha = attrFloat(c, 'alpha', 0.2);
    const t = g.add(g.mul(x, g.s(x, alpha)), g.s(x, attrFloat(c, 'beta', 0.5)));
    const inside = g.op('And', [g.op('Greater', [t, zero(g, t)]), g.op('Less', [t, g.s(t, 1)])]);
    return g.op('Where', [inside, g.mul(gy, g.s(gy, alpha)), zero(g, gy)]);
  }),
  // y = x·max(0, min(1, x/6 + 1/2)): dx = 0 (x ≤ −3), gy·(x/3 + 1/2) (−3 < x < 3), gy (x ≥ 3)
  HardSwish: elementwise((c, gy) => {
    const { g } = c;
    const x = inp(c, 0);
    const mid = g.mul(gy, g.add(g.mul(x, g.s(x, 1 / 3)), g.s(x, 0.5)));
    return g.op('Where', [g.op('Greater', [x, g.s(x, 3)]), gy, g.op('Where', [g.op('Greater', [x, g.s(x, -3)]), mid, zero(g, gy)])]);
  }),
  // y = eˣ: dx = gy·y
  Exp: elementwise((c, gy) => c.g.mul(gy, out(c))),
  // y = ln x: dx = gy/x
  Log: elementwise((c, gy) => c.g.div(gy, inp(c, 0))),
  // y = √x: dx = gy/(2y)
  Sqrt: elementwise((c, gy) => c.g.div(gy, c.g.mul(c.g.s(gy, 2), out(c)))),
  // y = 1/x: dx = −gy·y²
  Reciprocal: elementwise((c, gy) => c.g.neg(c.g.mul(gy, c.g.mul(out(c), out(c))))),
  // y = |x|: dx = gy·sign(x)
  Abs: elementwise((c, gy) => c.g.mul(gy, c.g.op('Sign', [inp(c, 0)]))),
  // y = x^p with constant p: dx = gy·p·x^(p−1)
  Pow: (c) => {
    const { g } = c;
    if (c.needs[1]) throw new RangeError('Pow: the exponent must be a constant (no gradient rule for a variable exponent)');
    const p = g.constOf(c.inputs[1]);
    if (!p || p.data.length !== 1) throw new RangeError('Pow: the exponent must be a scalar constant');
    const pv = Number(p.data[0]);
    const x = inp(c, 0);
    const d = g.mul(g.s(x, pv), g.op('Pow', [x, g.s(x, pv - 1)]));
    return [g.mul(gyOf(c), d), null];
  },
  // y = clip(x, lo, hi): dx = gy where lo < x < hi
  Clip: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    if (c.opts.maskGrad === 'native' && x.dtype === 'float32' && c.inputs[1] && c.inputs[2]) {
      return [g.op('ClipGrad', [x, gyOf(c), c.inputs[1], c.inputs[2]], {}, { domain: NATIVE_DOMAIN, out: [{ dtype: x.dtype, shape: [...x.shape] }] }), null, null];
    }
    let mask: Value | null = null;
    if (c.inputs[1]) mask = g.op('Greater', [x, c.inputs[1]]);
    if (c.inputs[2]) {
      const m2 = g.op('Less', [x, c.inputs[2]]);
      mask = mask ? g.op('And', [mask, m2]) : m2;
    }
    const gy = gyOf(c);
    if (!mask) return [gy, null, null];
    // 'mul' (default): gy·Cast(mask), faster than Where (see Relu)
    return [(c.opts.maskGrad ?? DEFAULT_MASK_GRAD) !== 'where' ? g.mul(gy, g.op('Cast', [mask], { to: ONNX_DTYPE[gy.dtype] })) : g.op('Where', [mask, gy, zero(g, gy)]), null, null];
  },
  // y = max(a, b) (binary): gradient to the larger; ties go to a
  Max: (c) => {
    const { g } = c;
    if (c.inputs.length !== 2) throw new RangeError('Max: only the binary form has a gradient rule');
    const gy = gyOf(c);
    const m = g.op('GreaterOrEqual', [inp(c, 0), inp(c, 1)]);
    return [g.op('Where', [m, gy, zero(g, gy)]), g.op('Where', [m, zero(g, gy), gy])];
  },
  Min: (c) => {
    const { g } = c;
    if (c.inputs.length !== 2) throw new RangeError('Min: only the binary form has a gradient rule');
    const gy = gyOf(c);
    const m = g.op('LessOrEqual', [inp(c, 0), inp(c, 1)]);
    return [g.op('Where', [m, gy, zero(g, gy)]), g.op('Where', [m, zero(g, gy), gy])];
  },
  // y = where(cond, a, b)
  Where: (c) => {
    const { g } = c;
    const gy = gyOf(c);
    const cond = inp(c, 0);
    return [null, c.needs[1] ? g.op('Where', [cond, gy, zero(g, gy)]) : null, c.needs[2] ? g.op('Where', [cond, zero(g, gy), gy]) : null];
  },
  Cast: (c) => [c.g.op('Cast', [gyOf(c)], { to: ONNX_DTYPE[inp(c, 0).dtype] })],
  // y = softmax(x) along axis: dx = y ⊙ (gy − Σ_axis gy⊙y)
  Softmax: (c) => {
    const { g } = c;
    const y = out(c);
    const gy = gyOf(c);
    const ax = attrInt(c.node.attrs, 'axis', -1);
    const s = g.reduceSum(g.mul(gy, y), [ax], true);
    return [g.mul(y, g.sub(gy, s))];
  },
  // y = log softmax(x): dx = gy − softmax(x)·Σ_axis gy
  LogSoftmax: (c) => {
    const { g } = c;
    const gy = gyOf(c);
    const ax = attrInt(c.node.attrs, 'axis', -1);
    const p = g.op('Exp', [out(c)]);
    return [g.sub(gy, g.mul(p, g.reduceSum(gy, [ax], true)))];
  },
  // y = Σ_axes x: dx = gy broadcast back
  ReduceSum: (c) => [expandLike(c.g, unreduce(c, gyOf(c)), inp(c, 0)), null],
  // y = mean_axes x: dx = gy/n broadcast back
  ReduceMean: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    const n = countAlong(g, x, reduceInfo(c).axes);
    return [expandLike(g, g.div(unreduce(c, gyOf(c)), n), x), null];
  },
  // y = max_axes x: dx = gy at the arg-max positions, split evenly between ties
  ReduceMax: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    const { axes } = reduceInfo(c);
    const isMax = g.op('Cast', [g.op('Equal', [x, unreduce(c, out(c))])], { to: ONNX_DTYPE[x.dtype] });
    const ties = g.reduceSum(isMax, axes, true);
    return [g.mul(isMax, g.div(unreduce(c, gyOf(c)), ties)), null];
  },
  Reshape: (c) => [reshapeLike(c.g, gyOf(c), inp(c, 0)), null],
  Flatten: (c) => [reshapeLike(c.g, gyOf(c), inp(c, 0))],
  Squeeze: (c) => [reshapeLike(c.g, gyOf(c), inp(c, 0)), null],
  Unsqueeze: (c) => [reshapeLike(c.g, gyOf(c), inp(c, 0)), null],
  // y = broadcast of x: the walker sums gy down to x's shape
  Expand: (c) => [gyOf(c), null],
  // y = transpose(x, perm): dx = transpose(gy, perm⁻¹)
  Transpose: (c) => {
    const x = inp(c, 0);
    const perm = attrInts(c.node.attrs, 'perm') ?? [...x.shape.keys()].reverse();
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [c.g.op('Transpose', [gyOf(c)], { perm: inv })];
  },
  // y = concat(x_i, axis): dx_i = the slice of gy that came from x_i (static sizes)
  Concat: (c) => {
    const { g } = c;
    const gy = gyOf(c);
    const rank = gy.shape.length;
    const ax0 = attrInt(c.node.attrs, 'axis', 0);
    const ax = ax0 < 0 ? ax0 + rank : ax0;
    let off = 0;
    return c.inputs.map((x, i) => {
      const d = x!.shape[ax];
      if (typeof d !== 'number') throw new RangeError(`Concat: gradient needs a static size on axis ${ax}`);
      const start = off;
      off += d;
      return c.needs[i] ? g.op('Slice', [gy, g.ints([start]), g.ints([start + d]), g.ints([ax])]) : null;
    });
  },
  // y = x[starts:ends] (step 1): dx = gy zero-padded back to x's shape (static sizes)
  Slice: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    const r = x.shape.length;
    const starts = constantInput(c, 1, 'starts');
    const ends = constantInput(c, 2, 'ends');
    if (c.inputs[4]) {
      const steps = constantInput(c, 4, 'steps');
      if (steps.some((s) => s !== 1)) throw unsupported(c, 'steps', `[${steps.join(',')}]`, 'all 1');
    }
    const axes = (c.inputs[3] ? constantInput(c, 3, 'axes') : starts.map((_, i) => i)).map((a) => (a < 0 ? a + r : a));
    const pads = new Array(2 * r).fill(0);
    axes.forEach((a, i) => {
      const d = x.shape[a];
      if (typeof d !== 'number') {
        if (starts[i] === 0 && ends[i] >= 2 ** 31) return; // full range on a symbolic axis
        throw new RangeError(`Slice: gradient needs a static size on axis ${a}`);
      }
      const cl = (t: number) => Math.min(Math.max(t < 0 ? t + d : t, 0), d);
      pads[a] = cl(starts[i]);
      pads[a + r] = d - cl(ends[i]);
    });
    return [g.op('Pad', [gyOf(c), g.ints(pads)]), null, null, null, null];
  },
  // y = gather(x, idx, axis): dx = Σ over idx of one-hot scatter — one-hot matrix product
  Gather: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    const idx = inp(c, 1);
    const r = x.shape.length;
    const ax0 = attrInt(c.node.attrs, 'axis', 0);
    const ax = ax0 < 0 ? ax0 + r : ax0;
    const D = x.shape[ax];
    if (typeof D !== 'number') throw new RangeError('Gather: gradient needs a static size on the gathered axis');
    const flatIdx = g.op('Reshape', [idx, g.ints([-1])], {}, { out: [{ dtype: idx.dtype, shape: ['K'] }] });
    // ORT's OneHot has no double kernel: build it in float32 (exact 0/1) and cast.
    const oneHot32 = g.op('OneHot', [flatIdx, g.ints([D]), g.const({ dtype: 'float32', dims: [2], data: new Float32Array([0, 1]) })], { axis: -1 });
    const oneHot = x.dtype === 'float32' ? oneHot32 : g.op('Cast', [oneHot32], { to: ONNX_DTYPE[x.dtype] });
    // gy: [pre..., idx..., post...] → [P, K, Q]
    const gy = gyOf(c);
    const gy3 = g.op('Reshape', [gy, g.op('Concat', [g.op('Shape', [x], { end: ax }, { out: [{ dtype: 'int64', shape: [ax] }] }), g.ints([-1]), g.op('Shape', [x], { start: ax + 1 }, { out: [{ dtype: 'int64', shape: [r - ax - 1] }] })], { axis: 0 }, { out: [{ dtype: 'int64', shape: [r] }] })], {}, { out: [{ dtype: gy.dtype, shape: [...x.shape.slice(0, ax), 'K', ...x.shape.slice(ax + 1)] }] });
    const letters = 'abcdefghijklmnopqrstuvw';
    const pre = letters.slice(0, ax);
    const post = letters.slice(ax, r - 1);
    const dx = g.op('Einsum', [gy3, oneHot], { equation: `${pre}y${post},yz->${pre}z${post}` }, { out: [{ dtype: x.dtype, shape: [...x.shape] }] });
    return [dx, null];
  },
  /*
   * Y = α·op(A)·op(B) + β·C.  With G = dY:
   *   d op(A) = α·G·op(B)ᵀ,  d op(B) = α·op(A)ᵀ·G,  dC = β·G (unbroadcast by the walker).
   * Each is one Gemm with the right trans flags; no explicit Transpose.
   */
  Gemm: (c) => {
    const { g } = c;
    const [A, B, C] = [inp(c, 0), inp(c, 1), c.inputs[2]];
    const G = gyOf(c);
    const tA = attrInt(c.node.attrs, 'transA', 0) === 1;
    const tB = attrInt(c.node.attrs, 'transB', 0) === 1;
    const alpha = attrFloat(c, 'alpha', 1);
    const beta = attrFloat(c, 'beta', 1);
    const al: Record<string, number> = alpha === 1 ? {} : { alpha };
    let dA: Value | null = null;
    let dB: Value | null = null;
    if (c.needs[0]) {
      dA = !tA
        ? g.op('Gemm', [G, B], { ...al, transB: tB ? 0 : 1 })
        : g.op('Gemm', [B, G], { ...al, transA: tB ? 1 : 0, transB: 1 });
    }
    if (c.needs[1]) {
      dB = !tB
        ? g.op('Gemm', [A, G], { ...al, transA: tA ? 0 : 1 })
        : g.op('Gemm', [G, A], { ...al, transA: 1, transB: tA ? 1 : 0 }); // dB = α·Gᵀ·op(A)
    }
    const dC = C && c.needs[2] ? (beta === 1 ? G : g.mul(G, g.s(G, beta))) : null;
    return [dA, dB, dC];
  },
  // Y = A·B (batched, broadcast): dA = G·Bᵀ, dB = Aᵀ·G (summed over broadcast batch dims by the walker)
  MatMul: (c) => {
    const { g } = c;
    const [A, B] = [inp(c, 0), inp(c, 1)];
    const G = gyOf(c);
    const two = A.shape.length === 2 && B.shape.length === 2;
    const tr = (x: Value) => g.op('Transpose', [x], { perm: [...Array(x.shape.length - 2).keys(), x.shape.length - 1, x.shape.length - 2] });
    const dA = c.needs[0] ? (two ? g.op('Gemm', [G, B], { transB: 1 }) : g.op('MatMul', [G, tr(B)])) : null;
    const dB = c.needs[1] ? (two ? g.op('Gemm', [A, G], { transA: 1 }) : g.op('MatMul', [tr(A), G])) : null;
    return [dA, dB];
  },
  /*
   * Conv (N-D, any group count, dilation 1). With G = dY, groups g, C input and M output channels:
   *   dX = ConvTranspose(G, W, group g) with the forward's strides/pads and output_padding
   *        restoring X's size (at stride 1, ungrouped or depthwise: a Conv of G with the flipped
   *        kernel instead — see below);
   *   dW = conv of X (batch↔channel transposed) with G (batch↔channel transposed) as the kernel,
   *        dilation = forward stride, then transposed back and cut to the kernel size. With
   *        g > 1 only same-group (output, input) channel pairs are wanted: X becomes one example
   *        of C·N channels (channel-major) convolved with group C, each group's kernel being
   *        G's channels of that group (repeated over the C/g input channels of the group);
   *   dB = Σ_{n,spatial} G.
   */
  Conv: (c) => {
    // (the defaults are the formulations measured faster: bench/README.md, issue 18)
    const { g } = c;
    const [X, W] = [inp(c, 0), inp(c, 1)];
    const G = gyOf(c);
    // dilations ≠ 1 are refused before any rule runs (attrs.ts).
    const k = W.shape.slice(2) as number[];
    const sp = k.length;
    const strides = attrInts(c.node.attrs, 'strides') ?? Array(sp).fill(1);
    const pads = attrInts(c.node.attrs, 'pads') ?? Array(2 * sp).fill(0);
    const grp = attrInt(c.node.attrs, 'group', 1);
    const grpAttr: Record<string, number> = grp === 1 ? {} : { group: grp };
    let dX: Value | null = null;
    let dW: Value | null = null;
    // The native operators (graph/native-ops.ts) take every 2-D float32 convolution.
    const nativeFits = sp === 2 && X.dtype === 'float32' && X.shape.length === 4;
    // (a 1×1 conv at stride 1's input gradient is one GEMM in onnxruntime's Conv, no layout change:
    // faster there, mobilenet ~3.5%; its weight gradient is not)
    const pointwise = k.every((kk) => kk === 1) && strides.every((st) => st === 1) && pads.every((p) => p === 0) && grp === 1;
    const native = (attrs: Record<string, number | number[]>) => ({ kernel_shape: k, strides, pads, ...grpAttr, ...attrs });
    const inputForm = c.opts.convInputGrad === 'native' ? (nativeFits && !pointwise ? 'native' : DEFAULT_CONV_INPUT_GRAD) : (c.opts.convInputGrad ?? DEFAULT_CONV_INPUT_GRAD);
    if (c.needs[0] && inputForm === 'native') {
      dX = g.op('ConvGradX', [G, W, X], native({}), { domain: NATIVE_DOMAIN, out: [{ dtype: X.dtype, shape: [...X.shape] }] });
    } else if (c.needs[0]) {
      const op = k.map((kk, i) => {
        const xi = X.shape[2 + i] as number;
        const yi = G.shape[2 + i] as number;
        return xi - (strides[i] * (yi - 1) + kk - pads[i] - pads[i + sp]);
      });
      // Depthwise: one input and one output channel per group (group = C = M).
      const depthwise = grp > 1 && W.shape[1] === 1 && W.shape[0] === grp && X.shape[1] === grp;
      const asConv = inputForm === 'conv' && (grp === 1 || depthwise) && strides.every((s) => s === 1) && k.every((kk, i) => pads[i] <= kk - 1 && pads[i + sp] <= kk - 1);
      if (asConv) {
        // dX = Conv(G, W̃) with W̃[c, m, ·] = W[m, c, flipped ·] and pads k − 1 − p (stride 1);
        // depthwise, W̃ = W flipped (channel c's kernel stays channel c's), with the same group.
        // (A 1×1 kernel needs no flip.)
        const spatial = Array.from({ length: sp }, (_, i) => i + 2);
        const flipped = k.every((kk) => kk === 1) ? W : g.op('Slice', [W, g.ints(Array(sp).fill(-1)), g.ints(k.map((kk) => -kk - 1)), g.ints(spatial), g.ints(Array(sp).fill(-1))]);
        const Wt = depthwise ? flipped : g.op('Transpose', [flipped], { perm: [1, 0, ...spatial] });
        dX = g.op('Conv', [G, Wt], { kernel_shape: k, pads: [...k.map((kk, i) => kk - 1 - pads[i]), ...k.map((kk, i) => kk - 1 - pads[i + sp])], ...grpAttr });
      } else {
        dX = g.op('ConvTranspose', [G, W], { strides, pads, kernel_shape: k, ...grpAttr, ...(op.some((v) => v !== 0) ? { output_padding: op } : {}) });
      }
    }
    const weightForm = c.opts.convWeightGrad === 'native' ? (nativeFits ? 'native' : DEFAULT_CONV_WEIGHT_GRAD) : (c.opts.convWeightGrad ?? DEFAULT_CONV_WEIGHT_GRAD);
    if (c.needs[1] && weightForm === 'native') {
      dW = g.op('ConvGradW', [X, G], native({}), { domain: NATIVE_DOMAIN, out: [{ dtype: W.dtype, shape: [...W.shape] }] });
    } else if (c.needs[1]) {
      const spatial = Array.from({ length: sp }, (_, i) => i + 2);
      const perm = [1, 0, ...spatial];
      const xT = g.op('Transpose', [X], { perm });
      const gT = g.op('Transpose', [G], { perm });
      const gk = G.shape.slice(2) as number[];
      // The dW convolutions below produce kernel offsets 0 … (X + p_begin + p_end − s·(|y| − 1) − 1):
      // the forward's end padding would give offsets past the kernel where the stride leaves a
      // remainder (e.g. stride 2, pads 1 on an even size: 4 offsets for a 3-wide kernel, a 16/9
      // larger output for 3×3). With the end padding that gives exactly k offsets (never more
      // than the forward's) no offset is computed only to be cut.
      const exactEnd = k.map((kk, i) => {
        const [xi, yi] = [X.shape[2 + i], G.shape[2 + i]];
        return typeof xi === 'number' && typeof yi === 'number' ? kk + strides[i] * (yi - 1) - xi - pads[i] : -1;
      });
      // (where that is the forward's end padding already, the graph stays as it was: the Slice is a no-op)
      const exact = exactEnd.every((e) => e >= 0) && exactEnd.some((e, i) => e !== pads[i + sp]);
      const wPads = exact ? [...pads.slice(0, sp), ...exactEnd] : pads;
      const cut = (full: Value) => (exact ? full : g.op('Slice', [full, g.ints(Array(sp).fill(0)), g.ints(k), g.ints(spatial)]));
      const gkStatic = gk.every((d) => typeof d === 'number');
      // The kernel offsets in row-major order ([0,0], [0,1], …), for the im2col and offsets forms.
      const offsets: number[][] = [[]];
      for (const kk of k) offsets.splice(0, offsets.length, ...offsets.flatMap((o) => Array.from({ length: kk }, (_, j) => [...o, j])));
      // 'offsets' where it measured faster: stride 1 (a strided Slice of the channels-last input
      // copies runs of only C floats: slower on resnet's strided convs), a kernel larger than 1×1
      // (mobilenet's pointwise convs: the channels-last transpose costs more than it saves) and at
      // least 16 input channels (each offset's Gemm is C wide). The others take 'im2col-rows'.
      const asked = weightForm;
      const offsetsFit = strides.every((st) => st === 1) && k.some((kk) => kk > 1) && typeof X.shape[1] === 'number' && X.shape[1] >= 16;
      // Of those, a patch matrix no larger than im2colPatchLimit × dY is built whole (one Gemm reads
      // dY once; one per kernel row reads it k times: the cnn's 1-channel and the resnet's and
      // mobilenet's 3-channel first convs).
      const patchSmall = typeof X.shape[1] === 'number' && X.shape[1] * offsets.length <= (c.opts.im2colPatchLimit ?? DEFAULT_IM2COL_PATCH_LIMIT) * (W.shape[0] as number);
      const wForm = asked === 'offsets' && !offsetsFit ? (patchSmall ? 'im2col' : 'im2col-rows') : asked;
      if (grp === 1 && wForm === 'offsets' && gkStatic && typeof X.shape[1] === 'number') {
        // One Gemm per kernel offset o, on a channels-last copy of the padded input:
        // dW[m, c, o] = Σ_(n,y) Gᵀ[m, (n, y)] · Xh[(n, y·s + o), c], where the strided Slice of Xh
        // at offset o is already the [N·|y|, C] matrix the Gemm takes (runs of |y_last|·C floats;
        // no patch matrix is built). The |k| results [M, C] are stacked and put in place.
        const C = X.shape[1];
        const M = W.shape[0] as number;
        const xh = g.op('Transpose', [X], { perm: [0, ...spatial, 1] }); // [N, spatial…, C]
        const xp = pads.some((p) => p !== 0) ? g.op('Pad', [xh, g.ints([0, ...pads.slice(0, sp), 0, 0, ...pads.slice(sp), 0])]) : xh;
        const gFlat = g.reshape(gT, [M, -1]); // [M, (n, y…)]
        const axes = Array.from({ length: sp }, (_, i) => i + 1);
        const parts = offsets.map((o) => {
          const v = g.op('Slice', [xp, g.ints(o), g.ints(o.map((oi, i) => oi + strides[i] * ((gk[i] as number) - 1) + 1)), g.ints(axes), g.ints(strides)]); // [N, y…, C]
          return g.op('Unsqueeze', [g.op('Gemm', [gFlat, g.reshape(v, [-1, C])]), g.ints([0])]); // [1, M, C]
        });
        const D = parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 0 }); // [|k|, M, C]
        dW = g.op('Transpose', [g.reshape(D, [...k, M, C])], { perm: [sp, sp + 1, ...Array.from({ length: sp }, (_, i) => i)] });
      } else if (grp === 1 && (wForm === 'im2col' || wForm === 'im2col-rows') && gkStatic && typeof X.shape[1] === 'number') {
        // im2col: P[(c, o), (n, y)] = Xpad[n, c, y·s + o] for each kernel offset o (a strided
        // Slice of the padded, batch-transposed input), then dW[m, (c, o)] = Σ_(n,y) Gᵀ[m, (n, y)]·P.
        const C = X.shape[1];
        const M = W.shape[0] as number;
        const xp = pads.some((p) => p !== 0) ? g.op('Pad', [xT, g.ints([0, 0, ...pads.slice(0, sp), 0, 0, ...pads.slice(sp)])]) : xT;
        const view = (o: number[]) => {
          const v = g.op('Slice', [xp, g.ints(o), g.ints(o.map((oi, i) => oi + strides[i] * ((gk[i] as number) - 1) + 1)), g.ints(spatial), g.ints(strides)]);
          return g.op('Unsqueeze', [v, g.ints([1])]); // [C, 1, N, y…]
        };
        const gFlat = g.reshape(gT, [M, -1]);
        // dW[m, (c, o)] for the offsets `os` (in row-major order): [M, C·|os|]
        const patchGemm = (os: number[][]) => {
          const views = os.map(view);
          const P = views.length === 1 ? views[0] : g.op('Concat', views, { axis: 1 }); // [C, |os|, N, y…]
          return g.op('Gemm', [gFlat, g.reshape(P, [C * os.length, -1])], { transB: 1 });
        };
        if (wForm === 'im2col-rows' && sp > 1 && k[0] > 1) {
          // One Gemm per offset of the first kernel axis: [M, C, 1, k[1]…] each, concatenated.
          const rest = offsets.length / k[0];
          const rows = Array.from({ length: k[0] }, (_, r) => g.reshape(patchGemm(offsets.slice(r * rest, (r + 1) * rest)), [M, C, 1, ...k.slice(1)]));
          dW = g.op('Concat', rows, { axis: 2 });
        } else {
          dW = g.reshape(patchGemm(offsets), [M, C, ...k]);
        }
      } else if (grp === 1) {
        const full = g.op('Conv', [xT, gT], { dilations: strides, pads: wPads, kernel_shape: gk });
        dW = g.op('Transpose', [cut(full)], { perm });
      } else {
        const [C, M] = [X.shape[1], W.shape[0]];
        if (typeof C !== 'number' || typeof M !== 'number') throw new RangeError('Conv: a grouped convolution\'s gradient needs static channel counts');
        const [Cg, Mg] = [C / grp, M / grp];
        const x1 = g.reshape(xT, [1, -1, ...Array(sp).fill(0)]); // [1, C·N, spatial…]
        let kern = gT; // [M, N, spatial…]: output channel j of group j/Mg
        if (Cg > 1) {
          // [g, 1, Mg, N, …] → [g, Cg, Mg, N, …] → [C·Mg, N, …]
          const r = g.reshape(gT, [grp, 1, Mg, -1, ...gk]);
          kern = g.reshape(g.op('Expand', [r, g.ints([grp, Cg, Mg, 1, ...gk.map(() => 1)])]), [C * Mg, -1, ...gk]);
        }
        const full = cut(g.op('Conv', [x1, kern], { dilations: strides, pads: wPads, kernel_shape: gk, group: C })); // [1, C·Mg, k…]
        dW = Cg === 1 ? g.reshape(full, [M, 1, ...k]) : g.reshape(g.op('Transpose', [g.reshape(full, [grp, Cg, Mg, ...k])], { perm: [0, 2, 1, ...k.map((_, i) => i + 3)] }), [M, Cg, ...k]);
      }
    }
    const dB = c.inputs[2] && c.needs[2] ? g.reduceSum(G, [0, ...Array.from({ length: sp }, (_, i) => i + 2)], false) : null;
    return [dX, dW, dB];
  },
  // y = mean over the spatial axes of x (kept as size 1): dx = gy/|spatial| broadcast back
  GlobalAveragePool: (c) => {
    const { g } = c;
    const x = inp(c, 0);
    if (c.opts.globalPoolGrad === 'native' && x.dtype === 'float32' && x.shape.length >= 3) {
      return [g.op('GlobalAveragePoolGrad', [gyOf(c), x], {}, { domain: NATIVE_DOMAIN, out: [{ dtype: x.dtype, shape: [...x.shape] }] })];
    }
    const n = countAlong(g, x, Array.from({ length: x.shape.length - 2 }, (_, i) => i + 2));
    return [expandLike(g, g.div(gyOf(c), n), x)];
  },
  /*
   * MaxPool: the gradient goes to the arg-max, by indices flattened over N·C·H·W — found again
   * below for non-overlapping square windows ('argmax', the default, where they tile the input;
   * 'phases'; either where the forward has no Indices output), else the forward's Indices.
   * Non-overlapping windows: MaxUnpool(G, indices) (exact, fast; ORT has it for float32 only).
   * Overlapping windows, or other dtypes: scatter-add.
   */
  MaxPool: (c) => {
    const { g } = c;
    const X = inp(c, 0);
    const G = gyOf(c);
    const k = attrInts(c.node.attrs, 'kernel_shape')!;
    const strides = attrInts(c.node.attrs, 'strides') ?? k.map(() => 1);
    const pads = attrInts(c.node.attrs, 'pads');
    const overlapping = k.some((kk, i) => strides[i] < kk);
    if (c.opts.maxPoolGrad === 'native' && X.dtype === 'float32' && X.shape.length === 4 && k.length === 2) {
      // (the forward's Indices output, if any, is then unused: prune drops it)
      return [g.op('MaxPoolGrad', [X, G], { kernel_shape: k, strides, pads: pads ?? [0, 0, 0, 0] }, { domain: NATIVE_DOMAIN, out: [{ dtype: X.dtype, shape: [...X.shape] }] })];
    }
    const shapeX = g.op('Shape', [X]);
    const [C, H, W] = X.shape.slice(1);
    const [Ho, Wo] = G.shape.slice(2);
    const b = k[0];
    const phasesFit =
      X.shape.length === 4 && typeof C === 'number' && typeof H === 'number' && typeof W === 'number' && typeof Ho === 'number' && typeof Wo === 'number' &&
      k.length === 2 && k[1] === b && strides.every((st) => st === b) && (!pads || pads.every((p) => p === 0));
    let idx = c.outputs[1];
    const asked = c.opts.maxPoolGrad ?? DEFAULT_MAXPOOL_GRAD;
    const form = asked === 'native' ? DEFAULT_MAXPOOL_GRAD : asked;
    if (phasesFit && (form === 'argmax' || (!idx && form !== 'phases')) && H === Ho * b && W === Wo * b) {
      // The windows tile X exactly: SpaceToDepth of X as [N·C, 1, H, W] puts window position
      // j = a·b + e (row-major) on axis 1 of [N·C, b², Ho, Wo], and ArgMax along it takes the first
      // maximum (as MaxPool's Indices and PyTorch do); its offset a·W + e = j + (W − b)·⌊j/b⌋, with
      // ⌊j/b⌋ = Σ_t [j ≥ t·b] (t = 1…b−1) for small b: onnxruntime's int64 Div took 2.5 ms a cnn
      // step, a Gather from a b²-entry table 10 ms.
      const K = b * b;
      const P = g.op('SpaceToDepth', [g.reshape(X, [-1, 1, H, W])], { blocksize: b }, { out: [{ dtype: X.dtype, shape: ['?', K, Ho, Wo] }] });
      const j = g.reshape(g.op('ArgMax', [P], { axis: 1, keepdims: 0 }, { out: [{ dtype: 'int64', shape: ['?', Ho, Wo] }] }), [-1, C, Ho, Wo]);
      let row: Value;
      if (b <= 3) {
        const steps = Array.from({ length: b - 1 }, (_, t) => g.op('Cast', [g.op('Greater', [j, g.scalar((t + 1) * b - 1, 'int64')])], { to: 7 }));
        row = steps.length === 1 ? steps[0] : g.add(steps[0], steps[1]);
      } else row = g.div(j, g.scalar(b, 'int64'));
      const offset = W === b ? j : g.add(j, g.mul(row, g.scalar(W - b, 'int64')));
      idx = g.add(maxPoolBase(g, shapeX, X, C, H, W, Ho, Wo, b), offset);
    } else if (phasesFit && (form === 'phases' || !idx)) {
      // Non-overlapping b×b windows without the Indices output (a model's MaxPool as imported, or
      // 'phases' asked: prune then drops the unused output and onnxruntime's MaxPool, ~6× faster
      // without it, takes the NCHWc path; measured on the cnn step 1.03× at 1 thread but 0.94× at 2,
      // where these single-threaded Slices and bandwidth-bound element-wise ops do not scale, and
      // +14% peak RSS — hence not the default): the arg-max is found again
      // from the window's b² phases P_j = X[:, :, a::b, e::b] (j = a·b + e, row-major as the
      // window) and the pooled y — the first j with P_j = y (the first maximum, as MaxPool's
      // Indices and PyTorch take it):
      //   code = max_j [P_j = y]·(b² − j), j* = b² − code, offset = a*·W + e* = j* + (W − b)·⌊j*/b⌋,
      //   index = ((n·C + c)·H + b·h)·W + b·w + offset (flattened over N·C·H·W, as Indices).
      const Y = out(c);
      const K = b * b;
      const terms = Array.from({ length: K }, (_, j) => {
        const [a, e] = [Math.floor(j / b), j % b];
        const P = g.op('Slice', [X, g.ints([a, e]), g.ints([a + b * (Ho - 1) + 1, e + b * (Wo - 1) + 1]), g.ints([2, 3]), g.ints([b, b])]);
        const hit = g.op('Cast', [g.op('Equal', [P, Y])], { to: ONNX_DTYPE[X.dtype] });
        return j === K - 1 ? hit : g.mul(hit, g.s(X, K - j));
      });
      const jStar = g.sub(g.s(X, K), g.op('Max', terms));
      const offset = W === b ? jStar : g.add(jStar, g.mul(g.op('Floor', [g.div(jStar, g.s(X, b))]), g.s(X, W - b)));
      idx = g.add(maxPoolBase(g, shapeX, X, C, H, W, Ho, Wo, b), g.op('Cast', [offset], { to: 7 }));
    }
    if (!idx) throw new RangeError('MaxPool: the gradient needs the Indices output (or non-overlapping square windows with static sizes); build MaxPool with 2 outputs');
    if (!overlapping && X.dtype === 'float32') {
      return [g.op('MaxUnpool', [G, idx, shapeX], { kernel_shape: k, strides, ...(pads ? { pads } : {}) }, { out: [{ dtype: X.dtype, shape: [...X.shape] }] })];
    }
    const zeros = g.op('ConstantOfShape', [g.op('Shape', [g.op('Reshape', [X, g.ints([-1])])])], { value: { dtype: X.dtype, dims: [1], data: X.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1) } }, { out: [{ dtype: X.dtype, shape: ['?'] }] });
    const flat = g.op('ScatterElements', [zeros, g.op('Reshape', [idx, g.ints([-1])]), g.op('Reshape', [G, g.ints([-1])])], { axis: 0, reduction: 'add' });
    return [reshapeLike(g, flat, X)];
  },
  /*
   * AveragePool (pads only with count_include_pad=1): each input cell receives gy/|window| from
   * every window containing it — a ConvTranspose with a per-channel kernel of 1/|window|.
   */
  AveragePool: (c) => {
    const { g } = c;
    const X = inp(c, 0);
    const G = gyOf(c);
    const k = attrInts(c.node.attrs, 'kernel_shape')!;
    const sp = k.length;
    const strides = attrInts(c.node.attrs, 'strides') ?? k.map(() => 1);
    const pads = attrInts(c.node.attrs, 'pads') ?? Array(2 * sp).fill(0);
    if (pads.some((p) => p !== 0) && attrInt(c.node.attrs, 'count_include_pad', 0) !== 1) {
      throw new RangeError('AveragePool: gradient with padding needs count_include_pad = 1');
    }
    const C = X.shape[1];
    if (typeof C !== 'number') throw new RangeError('AveragePool: gradient needs a static channel count');
    const size = k.reduce((a, b) => a * b, 1);
    const wdata = (X.dtype === 'float64' ? new Float64Array(C * size) : new Float32Array(C * size)).fill(1 / size);
    const Wk = g.const({ dtype: X.dtype, dims: [C, 1, ...k], data: wdata }, 'avgpool_kernel');
    const op = k.map((kk, i) => (X.shape[2 + i] as number) - (strides[i] * ((G.shape[2 + i] as number) - 1) + kk - pads[i] - pads[i + sp]));
    return [g.op('ConvTranspose', [G, Wk], { strides, pads, kernel_shape: k, group: C, ...(op.some((v) => v !== 0) ? { output_padding: op } : {}) })];
  },
  /*
   * BatchNormalization, training mode (batch statistics, biased variance):
   *   x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β
   *   dβ = Σ gy, dγ = Σ gy·x̂, dx = γ/√(σ²+ε) · (gy − mean(gy) − x̂·mean(gy·x̂))
   * (sums and means over every axis but the channel axis 1).
   */
  BatchNormalization: (c) => {
    const { g } = c;
    if (attrInt(c.node.attrs, 'training_mode', 0) !== 1) throw new RangeError('BatchNormalization: gradient rule needs training_mode = 1');
    const [X, scale] = [inp(c, 0), inp(c, 1)];
    const G = gyOf(c);
    const eps = attrFloat(c, 'epsilon', 1e-5);
    const r = X.shape.length;
    const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
    const bshape = [1, -1, ...Array(r - 2).fill(1)];
    const asked = c.opts.batchNormGrad ?? DEFAULT_BN_GRAD;
    if (asked === 'native' && X.dtype === 'float32' && r >= 2 && typeof X.shape[1] === 'number') {
      // dX, dγ, dβ by one native operator (graph/native-ops.ts), μ and σ² computed again from X
      const [dX, dScale, dB] = g.opN('BatchNormGrad', [X, G, scale], 3, { epsilon: eps }, { domain: NATIVE_DOMAIN, out: [{ dtype: X.dtype, shape: [...X.shape] }, { dtype: X.dtype, shape: [X.shape[1]] }, { dtype: X.dtype, shape: [X.shape[1]] }] });
      return [c.needs[0] ? dX : null, c.needs[1] ? dScale : null, c.needs[2] ? dB : null, null, null];
    }
    const form = asked === 'native' ? DEFAULT_BN_GRAD : asked;
    if (form === 'fused') {
      // The affine formula below in fewer and faster passes: the per-channel sums in two stages
      // (spatial axes, then the batch: faster in onnxruntime than one ReduceSum/ReduceMean over
      // [0, 2, …]), and d·(x − μ) + e (e = −a·ΣG/n) by one inference-mode BatchNormalization of x
      // with the batch's μ and σ² (so scale d/inv), added to a·G: dx = a·G + (d·(x − μ) + e).
      // Its mean and variance inputs are computed, never constants: onnxruntime shares equal
      // initializers between nodes, and a training-mode BatchNormalization (an imported
      // student's, fed constant stand-ins) may write its running statistics over its inputs.
      const sum = (v: Value) => (r > 2 ? g.reduceSum(g.reduceSum(v, axes.slice(1), true), [0], true) : g.reduceSum(v, [0], true));
      const n = countAlong(g, X, axes);
      const mu = g.div(sum(X), n);
      const xc = g.sub(X, mu);
      const variance = g.div(sum(g.mul(xc, xc)), n);
      const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, g.s(X, eps))])]);
      const sG = sum(G);
      const sGxc = sum(g.mul(G, xc));
      const dB = c.needs[2] ? g.reshape(sG, [-1]) : null;
      const dScale = c.needs[1] ? g.reshape(g.mul(sGxc, inv), [-1]) : null;
      let dX: Value | null = null;
      if (c.needs[0]) {
        const a = g.mul(g.reshape(scale, bshape), inv);
        const na = g.neg(a);
        const dOverInv = g.div(g.mul(na, g.mul(inv, sGxc)), n); // d / inv, d = −a·inv²·Σ G·xc / n
        const e = g.div(g.mul(na, sG), n);
        const flat = (v: Value) => g.reshape(v, [-1]);
        const affine = g.op('BatchNormalization', [X, flat(dOverInv), flat(e), flat(mu), flat(variance)], { epsilon: eps }, { out: [{ dtype: X.dtype, shape: [...X.shape] }] });
        dX = g.add(g.mul(G, a), affine);
      }
      return [dX, dScale, dB, null, null];
    }
    const mean = g.reduceMean(X, axes, true);
    const xc = g.sub(X, mean);
    const variance = g.reduceMean(g.mul(xc, xc), axes, true);
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, g.s(X, eps))])]);
    if (form === 'affine') {
      // The same formula with the per-channel factors gathered first (no x̂ tensor, no means of
      // full-size products): with ΣG and Σ G·xc per channel and n elements per channel,
      //   dβ = ΣG, dγ = inv·Σ G·xc, dx = a·(G − ΣG/n) + d·xc, a = γ·inv, d = −a·inv²·Σ G·xc / n.
      const sG = g.reduceSum(G, axes, true);
      const sGxc = g.reduceSum(g.mul(G, xc), axes, true);
      const dB = c.needs[2] ? g.reshape(sG, [-1]) : null;
      const dScale = c.needs[1] ? g.reshape(g.mul(sGxc, inv), [-1]) : null;
      let dX: Value | null = null;
      if (c.needs[0]) {
        const n = countAlong(g, X, axes);
        const a = g.mul(g.reshape(scale, bshape), inv);
        const d = g.div(g.mul(g.neg(a), g.mul(g.mul(inv, inv), sGxc)), n);
        dX = g.add(g.mul(a, g.sub(G, g.div(sG, n))), g.mul(d, xc));
      }
      return [dX, dScale, dB, null, null];
    }
    const xhat = g.mul(xc, inv);
    const dB = c.needs[2] ? g.reduceSum(G, axes, false) : null;
    const dScale = c.needs[1] ? g.reduceSum(g.mul(G, xhat), axes, false) : null;
    let dX: Value | null = null;
    if (c.needs[0]) {
      const mg = g.reduceMean(G, axes, true);
      const mgx = g.reduceMean(g.mul(G, xhat), axes, true);
      const sc = g.reshape(scale, bshape);
      dX = g.mul(g.mul(sc, inv), g.sub(g.sub(G, mg), g.mul(xhat, mgx)));
    }
    return [dX, dScale, dB, null, null];
  },
  /*
   * Dropout: training dx = gy·mask/(1 − ratio) (the mask the forward drew); inference dx = gy.
   * ratio (default 0.5) and training_mode (default false) may be constants or fed inputs.
   */
  Dropout: (c) => {
    const { g } = c;
    const G = gyOf(c);
    const [ratioV, trainV] = [c.inputs[1], c.inputs[2]];
    const trainT = g.constOf(trainV);
    if (!trainV || (trainT && !Number(trainT.data[0]))) return [G, null, null];
    const mask = c.outputs[1];
    if (!mask) throw new RangeError('Dropout: the gradient needs the mask output; build Dropout with 2 outputs');
    const ratioT = g.constOf(ratioV);
    let scale: Value;
    if (!ratioV || ratioT) scale = g.s(G, 1 / (1 - (ratioT ? Number(ratioT.data[0]) : 0.5)));
    else {
      const r = ratioV.dtype === G.dtype ? ratioV : g.op('Cast', [ratioV], { to: ONNX_DTYPE[G.dtype] });
      scale = g.op('Reciprocal', [g.sub(g.s(G, 1), r)]);
    }
    const dx = g.mul(G, g.mul(g.op('Cast', [mask], { to: ONNX_DTYPE[G.dtype] }), scale));
    return [trainT ? dx : g.op('Where', [trainV, dx, G]), null, null];
  },
};
