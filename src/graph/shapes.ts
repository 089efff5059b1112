/**
 * Shape and dtype inference for the ops the project emits. Each entry takes the input values
 * (and constant inputs where the op needs them: Reshape's shape, Slice's starts, reduce axes)
 * and returns the outputs' dtype and shape. An op missing here cannot be built.
 */
import type { AttrValue, DType, Dim, Shape, TensorData, Value } from './ir.js';

export interface ShapeCtx {
  inputs: (Value | null)[];
  attrs: Record<string, AttrValue>;
  /** The constant value of input i, if it is an initialiser known to the builder. */
  constOf(i: number): TensorData | undefined;
  nOutputs: number;
}
export type OutInfo = { dtype: DType; shape: Shape };
type Rule = (c: ShapeCtx) => OutInfo[];

export function attrInt(a: Record<string, AttrValue>, k: string, dflt: number): number {
  const v = a[k];
  return v && (v.type === 'int' || v.type === 'float') ? v.value : dflt;
}
export function attrInts(a: Record<string, AttrValue>, k: string): number[] | undefined {
  const v = a[k];
  return v && (v.type === 'ints' || v.type === 'floats') ? v.value : undefined;
}
export function constInts(t: TensorData | undefined): number[] | undefined {
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
}

export function dimEq(a: Dim, b: Dim): boolean {
  return a === b && a !== '?';
}

/** NumPy-style broadcast of several shapes; throws on a definite mismatch. */
export function broadcastShapes(shapes: Shape[]): Shape {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < r; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - r + i;
      if (k < 0) continue;
      const e = s[k];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (!dimEq(d, e)) {
        if (typeof d === 'number' && typeof e === 'number') {
          throw new RangeError(`cannot broadcast shapes ${shapes.map((x) => `[${x}]`).join(' and ')}`);
        }
        if (d === '?' || e === '?') d = typeof d === 'number' ? d : typeof e === 'number' ? e : '?';
        else throw new RangeError(`cannot broadcast shapes ${shapes.map((x) => `[${x}]`).join(' and ')}`);
      }
    }
    out.push(d);
  }
  return out;
}

function v(c: ShapeCtx, i: number): Value {
  const x = c.inputs[i];
  if (!x) throw new RangeError(`input ${i} is required`);
  return x;
}
const same: Rule = (c) => [{ dtype: v(c, 0).dtype, shape: [...v(c, 0).shape] }];
const bcast: Rule = (c) => [{ dtype: v(c, 0).dtype, shape: broadcastShapes(c.inputs.filter((x): x is Value => !!x).map((x) => x.shape)) }];
const cmp: Rule = (c) => [{ dtype: 'bool', shape: broadcastShapes([v(c, 0).shape, v(c, 1).shape]) }];

function normAxis(a: number, r: number): number {
  const k = a < 0 ? a + r : a;
  if (k < 0 || k >= r) throw new RangeError(`axis ${a} out of range for rank ${r}`);
  return k;
}

function reduce(c: ShapeCtx, axesFromInput: boolean): OutInfo[] {
  const x = v(c, 0);
  const keep = attrInt(c.attrs, 'keepdims', 1) === 1;
  let axes: number[] | undefined = axesFromInput ? constInts(c.constOf(1)) : attrInts(c.attrs, 'axes');
  if (axesFromInput && c.inputs[1] && !axes) throw new RangeError('reduce axes must be a constant');
  const r = x.shape.length;
  const set = new Set((axes && axes.length ? axes : [...Array(r).keys()]).map((a) => normAxis(a, r)));
  const shape: Shape = [];
  x.shape.forEach((d, i) => {
    if (set.has(i)) {
      if (keep) shape.push(1);
    } else shape.push(d);
  });
  return [{ dtype: x.dtype, shape }];
}

function product(s: Shape): number | undefined {
  let p = 1;
  for (const d of s) {
    if (typeof d !== 'number') return undefined;
    p *= d;
  }
  return p;
}

function reshape(c: ShapeCtx): OutInfo[] {
  const x = v(c, 0);
  const target = constInts(c.constOf(1));
  if (!target) throw new RangeError('Reshape: the shape input must be a constant');
  const out: Shape = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    const known = out.filter((_, i) => i !== neg);
    const pin = product(x.shape);
    const pk = product(known);
    if (pin !== undefined && pk !== undefined) out[neg] = pin / pk;
    else {
      // Symbolic: cancel identical symbols and compare the numeric rest.
      const syms = x.shape.filter((d) => typeof d === 'string');
      const ksyms = known.filter((d) => typeof d === 'string');
      const numIn = x.shape.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
      const numK = known.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
      const rest = syms.filter((s) => {
        const j = ksyms.indexOf(s);
        if (j >= 0 && s !== '?') {
          ksyms.splice(j, 1);
          return false;
        }
        return true;
      });
      if (ksyms.length === 0 && rest.length === 0) out[neg] = numIn / numK;
      else if (ksyms.length === 0 && rest.length === 1 && numIn === numK) out[neg] = rest[0];
      else out[neg] = '?';
    }
  }
  return [{ dtype: x.dtype, shape: out }];
}

function convLike(c: ShapeCtx, outChannels: Dim): OutInfo[] {
  const x = v(c, 0);
  const sp = x.shape.length - 2;
  const k = attrInts(c.attrs, 'kernel_shape') ?? (c.inputs[1] ? (v(c, 1).shape.slice(2) as number[]) : undefined);
  if (!k) throw new RangeError('kernel_shape is required');
  const strides = attrInts(c.attrs, 'strides') ?? Array(sp).fill(1);
  const pads = attrInts(c.attrs, 'pads') ?? Array(2 * sp).fill(0);
  const dil = attrInts(c.attrs, 'dilations') ?? Array(sp).fill(1);
  const ceil = attrInt(c.attrs, 'ceil_mode', 0) === 1;
  const autoPad = c.attrs.auto_pad?.type === 'string' ? c.attrs.auto_pad.value : 'NOTSET';
  const shape: Shape = [x.shape[0], outChannels];
  for (let i = 0; i < sp; i++) {
    const d = x.shape[2 + i];
    if (typeof d !== 'number') {
      shape.push('?');
      continue;
    }
    // SAME_UPPER / SAME_LOWER pad so that the output is ceil(input / stride); VALID: no padding.
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      shape.push(Math.ceil(d / strides[i]));
      continue;
    }
    if (autoPad === 'VALID') {
      shape.push(Math.floor((d - (dil[i] * (k[i] - 1) + 1)) / strides[i]) + 1);
      continue;
    }
    const eff = dil[i] * (k[i] - 1) + 1;
    const num = d + pads[i] + pads[i + sp] - eff;
    shape.push((ceil ? Math.ceil(num / strides[i]) : Math.floor(num / strides[i])) + 1);
  }
  return [{ dtype: x.dtype, shape }];
}

function gemm(c: ShapeCtx): OutInfo[] {
  const a = v(c, 0).shape;
  const b = v(c, 1).shape;
  const ta = attrInt(c.attrs, 'transA', 0) === 1;
  const tb = attrInt(c.attrs, 'transB', 0) === 1;
  const m = ta ? a[1] : a[0];
  const ka = ta ? a[0] : a[1];
  const kb = tb ? b[1] : b[0];
  const n = tb ? b[0] : b[1];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw new RangeError(`Gemm: inner dimensions differ, A [${a}] (transA=${+ta}) and B [${b}] (transB=${+tb})`);
  }
  return [{ dtype: v(c, 0).dtype, shape: [m, n] }];
}

function matmulShape(a: Shape, b: Shape, ta = false, tb = false): Shape {
  if (a.length < 2 || b.length < 2) throw new RangeError('MatMul: rank-1 operands are not supported');
  const A = ta ? [...a.slice(0, -2), a[a.length - 1], a[a.length - 2]] : a;
  const B = tb ? [...b.slice(0, -2), b[b.length - 1], b[b.length - 2]] : b;
  const ka = A[A.length - 1];
  const kb = B[B.length - 2];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw new RangeError(`MatMul: inner dimensions differ, [${a}] and [${b}]`);
  }
  const batch = broadcastShapes([A.slice(0, -2), B.slice(0, -2)]);
  return [...batch, A[A.length - 2], B[B.length - 1]];
}

const DTYPE_OF_ONNX: Record<number, DType> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32', 9: 'bool', 2: 'uint8' };

export const SHAPE_RULES: Record<string, Rule> = {
  Identity: same,
  Neg: same,
  Abs: same,
  Relu: same,
  LeakyRelu: same,
  Tanh: same,
  Sigmoid: same,
  HardSigmoid: same,
  HardSwish: same,
  Exp: same,
  Log: same,
  Sqrt: same,
  Reciprocal: same,
  Softmax: same,
  LogSoftmax: same,
  Not: same,
  Sign: same,
  Floor: same,
  Clip: same,
  Add: bcast,
  Sub: bcast,
  Mul: bcast,
  Div: bcast,
  Pow: (c) => [{ dtype: v(c, 0).dtype, shape: broadcastShapes([v(c, 0).shape, v(c, 1).shape]) }],
  Max: bcast,
  Min: bcast,
  Sum: bcast,
  Greater: cmp,
  Less: cmp,
  Equal: cmp,
  GreaterOrEqual: cmp,
  LessOrEqual: cmp,
  And: cmp,
  Or: cmp,
  Where: (c) => [{ dtype: v(c, 1).dtype, shape: broadcastShapes([v(c, 0).shape, v(c, 1).shape, v(c, 2).shape]) }],
  Cast: (c) => [{ dtype: DTYPE_OF_ONNX[attrInt(c.attrs, 'to', 1)], shape: [...v(c, 0).shape] }],
  Gemm: gemm,
  MatMul: (c) => [{ dtype: v(c, 0).dtype, shape: matmulShape(v(c, 0).shape, v(c, 1).shape) }],
  FusedMatMul: (c) =>
    [{
      dtype: v(c, 0).dtype,
      shape: matmulShape(v(c, 0).shape, v(c, 1).shape, attrInt(c.attrs, 'transA', 0) === 1, attrInt(c.attrs, 'transB', 0) === 1),
    }],
  ReduceSum: (c) => reduce(c, true),
  ReduceMean: (c) => reduce(c, true),
  ReduceMax: (c) => reduce(c, true),
  ReduceMin: (c) => reduce(c, true),
  ReduceSumSquare: (c) => reduce(c, true),
  ReduceL2: (c) => reduce(c, true),
  ReduceLogSumExp: (c) => reduce(c, true),
  ArgMax: (c) => {
    const x = v(c, 0);
    const ax = normAxis(attrInt(c.attrs, 'axis', 0), x.shape.length);
    const keep = attrInt(c.attrs, 'keepdims', 1) === 1;
    const shape = x.shape.flatMap((d, i) => (i === ax ? (keep ? [1] : []) : [d]));
    return [{ dtype: 'int64', shape }];
  },
  Reshape: reshape,
  Flatten: (c) => {
    const x = v(c, 0);
    const ax = attrInt(c.attrs, 'axis', 1);
    const a = x.shape.slice(0, ax);
    const b = x.shape.slice(ax);
    const pa = product(a);
    const pb = product(b);
    return [{ dtype: x.dtype, shape: [pa ?? (a.length === 1 ? a[0] : '?'), pb ?? (b.length === 1 ? b[0] : '?')] }];
  },
  Transpose: (c) => {
    const x = v(c, 0);
    const perm = attrInts(c.attrs, 'perm') ?? [...x.shape.keys()].reverse();
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  Unsqueeze: (c) => {
    const x = v(c, 0);
    const axes = constInts(c.constOf(1));
    if (!axes) throw new RangeError('Unsqueeze: axes must be a constant');
    const r = x.shape.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, r)));
    const out: Shape = [];
    let k = 0;
    for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : x.shape[k++]);
    return [{ dtype: x.dtype, shape: out }];
  },
  Squeeze: (c) => {
    const x = v(c, 0);
    const axes = constInts(c.constOf(1)) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const set = new Set(axes.map((a) => normAxis(a, x.shape.length)));
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !set.has(i)) }];
  },
  Concat: (c) => {
    const xs = c.inputs.filter((x): x is Value => !!x);
    const ax = normAxis(attrInt(c.attrs, 'axis', 0), xs[0].shape.length);
    const shape = [...xs[0].shape];
    let tot: Dim = 0;
    for (const x of xs) {
      const d = x.shape[ax];
      tot = typeof tot === 'number' && typeof d === 'number' ? tot + d : '?';
    }
    shape[ax] = tot;
    return [{ dtype: xs[0].dtype, shape }];
  },
  Slice: (c) => {
    const x = v(c, 0);
    const starts = constInts(c.constOf(1));
    const ends = constInts(c.constOf(2));
    if (!starts || !ends) throw new RangeError('Slice: starts and ends must be constants');
    const axes = constInts(c.constOf(3)) ?? starts.map((_, i) => i);
    const steps = constInts(c.constOf(4)) ?? starts.map(() => 1);
    const shape = [...x.shape];
    axes.forEach((a0, i) => {
      const a = normAxis(a0, x.shape.length);
      const d = x.shape[a];
      if (typeof d !== 'number') {
        shape[a] = '?';
        return;
      }
      const st = steps[i];
      if (!Number.isInteger(st) || st === 0) throw new RangeError(`Slice: steps must be non-zero integers, got ${st}`);
      // ONNX Slice: negative indices count from the end; clamped to [0, d] for positive steps,
      // to [-1, d − 1] for negative ones; the length is ceil((end − start) / step), at least 0.
      const [lo, hi] = st > 0 ? [0, d] : [-1, d - 1];
      const clampI = (t: number) => Math.min(Math.max(t < 0 ? t + d : t, lo), hi);
      shape[a] = Math.max(0, Math.ceil((clampI(ends[i]) - clampI(starts[i])) / st));
    });
    return [{ dtype: x.dtype, shape }];
  },
  Gather: (c) => {
    const x = v(c, 0);
    const idx = v(c, 1);
    const ax = normAxis(attrInt(c.attrs, 'axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)] }];
  },
  GatherElements: (c) => [{ dtype: v(c, 0).dtype, shape: [...v(c, 1).shape] }],
  ScatterElements: same,
  ScatterND: same,
  Expand: (c) => {
    const t = constInts(c.constOf(1));
    if (!t) throw new RangeError('Expand: shape must be a constant');
    return [{ dtype: v(c, 0).dtype, shape: broadcastShapes([v(c, 0).shape, t]) }];
  },
  OneHot: (c) => {
    const depth = constInts(c.constOf(1));
    const idx = v(c, 0);
    return [{ dtype: v(c, 2).dtype, shape: [...idx.shape, depth ? depth[0] : '?'] }];
  },
  Dropout: (c) => {
    const x = v(c, 0);
    const outs: OutInfo[] = [{ dtype: x.dtype, shape: [...x.shape] }];
    if (c.nOutputs > 1) outs.push({ dtype: 'bool', shape: [...x.shape] });
    return outs;
  },
  BatchNormalization: (c) => {
    const x = v(c, 0);
    const ch = [x.shape[1]];
    const outs: OutInfo[] = [{ dtype: x.dtype, shape: [...x.shape] }];
    for (let i = 1; i < c.nOutputs; i++) outs.push({ dtype: x.dtype, shape: ch });
    return outs;
  },
  Conv: (c) => convLike(c, v(c, 1).shape[0]),
  ConvTranspose: (c) => {
    const x = v(c, 0);
    const w = v(c, 1);
    const sp = x.shape.length - 2;
    const k = attrInts(c.attrs, 'kernel_shape') ?? (w.shape.slice(2) as number[]);
    const strides = attrInts(c.attrs, 'strides') ?? Array(sp).fill(1);
    const pads = attrInts(c.attrs, 'pads') ?? Array(2 * sp).fill(0);
    const op = attrInts(c.attrs, 'output_padding') ?? Array(sp).fill(0);
    const dil = attrInts(c.attrs, 'dilations') ?? Array(sp).fill(1);
    const os = attrInts(c.attrs, 'output_shape');
    // W is [C_in, C_out/group, k...]: the output has C_out = W.shape[1]·group channels
    const grp = attrInt(c.attrs, 'group', 1);
    const cOut = w.shape[1];
    const shape: Shape = [x.shape[0], typeof cOut === 'number' ? cOut * grp : grp === 1 ? cOut : '?'];
    for (let i = 0; i < sp; i++) {
      if (os) {
        shape.push(os[os.length - sp + i]);
        continue;
      }
      const d = x.shape[2 + i];
      shape.push(
        typeof d === 'number' ? strides[i] * (d - 1) + op[i] + ((k[i] - 1) * dil[i] + 1) - pads[i] - pads[i + sp] : '?',
      );
    }
    return [{ dtype: x.dtype, shape }];
  },
  MaxPool: (c) => {
    const o = convLike(c, v(c, 0).shape[1]);
    if (c.nOutputs > 1) o.push({ dtype: 'int64', shape: [...o[0].shape] });
    return o;
  },
  AveragePool: (c) => convLike(c, v(c, 0).shape[1]),
  GlobalAveragePool: (c) => [{ dtype: v(c, 0).dtype, shape: [...v(c, 0).shape.slice(0, 2), ...v(c, 0).shape.slice(2).map(() => 1)] }],
  MaxUnpool: (c) => {
    const os = constInts(c.constOf(2));
    if (!os) throw new RangeError('MaxUnpool: output_shape input must be a constant');
    const x = v(c, 0);
    // batch dimension stays symbolic if the input's is
    return [{ dtype: x.dtype, shape: os.map((d, i) => (i === 0 ? x.shape[0] : d)) }];
  },
  Shape: (c) => [{ dtype: 'int64', shape: [v(c, 0).shape.length] }],
  ConstantOfShape: () => {
    throw new RangeError('ConstantOfShape: give the output shape explicitly');
  },
  Pad: (c) => {
    const x = v(c, 0);
    const pads = constInts(c.constOf(1));
    if (!pads) throw new RangeError('Pad: pads must be a constant');
    const r = x.shape.length;
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + r] : pads[i] + pads[i + r] === 0 ? d : '?')) }];
  },
  Constant: (c) => {
    const t = c.attrs.value;
    if (!t || t.type !== 'tensor') throw new RangeError('Constant: value attribute required');
    return [{ dtype: t.value.dtype, shape: [...t.value.dims] }];
  },
  Einsum: () => {
    throw new RangeError('Einsum: give the output shape explicitly');
  },
};
