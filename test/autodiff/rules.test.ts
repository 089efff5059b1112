/**
 * Every gradient rule in GRAD_RULES against central finite differences (gradcheck-lib.ts), plus
 * the walker's own duties: fan-out accumulation, unbroadcasting, pruning of values off the
 * path to the loss, and the error for an op with no rule.
 *
 * float64 everywhere ORT 1.30 CPU has double kernels. Conv (grouped and depthwise too),
 * AveragePool and GlobalAveragePool (and the ConvTranspose / MaxUnpool their gradients use) are
 * float-only in ORT, so their checks run in float32 with ε = 0.5 (these ops are linear in each
 * input, so central differences are exact at any ε and only float32 rounding remains) and
 * tolerance 1e-5. MaxPool runs in
 * float64 (scatter-add path) and in float32 (its MaxUnpool fast path).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NoGradientRuleError, UnsupportedAttributeError, backward, checkGradAttrs, GRAD_RULES } from '../../src/autodiff/index.js';
import { GraphBuilder, f } from '../../src/graph/builder.js';
import { type TensorData, type Value, tensor } from '../../src/graph/ir.js';
import { Runner, nativeSessions } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { type CheckResult, type CheckSpec, awayFromZero, distinct, gradcheck, nearZero, normal, uniform } from './gradcheck-lib.js';

const dist = (n: number, seed: number, step = 0.05) => distinct(n, new Rng(seed), step);
const bool = (n: number, seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => (r.float() < 0.5 ? 1 : 0));
};
const FLOAT64 = 11;
const FLOAT32 = 1;

type Case = CheckSpec;
/** One-input, one-op case. */
function unary(op: string, dims: number[], sample = normal, attrs: Record<string, number | ReturnType<typeof f>> = {}, name = op): Case {
  return { name, op, inputs: [{ name: 'x', dims, sample }], build: (g, [x]) => g.op(op, [x], attrs) };
}
function binary(op: string, aDims: number[], bDims: number[], name: string, sa = normal, sb = normal): Case {
  return { name, op, inputs: [{ name: 'a', dims: aDims, sample: sa }, { name: 'b', dims: bDims, sample: sb }], build: (g, [a, b]) => g.op(op, [a, b]) };
}
function gemm(tA: boolean, tB: boolean, cDims: number[] | null, alpha = 0.7, beta = 1.3): Case {
  const [M, K, N] = [3, 4, 2];
  return {
    name: `Gemm transA=${+tA} transB=${+tB} C[${cDims ?? '-'}]`,
    op: 'Gemm',
    inputs: [
      { name: 'A', dims: tA ? [K, M] : [M, K] },
      { name: 'B', dims: tB ? [N, K] : [K, N] },
      ...(cDims ? [{ name: 'C', dims: cDims }] : []),
    ],
    build: (g, [A, B, C]) => g.op('Gemm', C ? [A, B, C] : [A, B], { transA: +tA, transB: +tB, alpha, beta }),
  };
}
function conv(name: string, xDims: number[], wDims: number[], attrs: Record<string, number | number[]>, bias = true, xShape?: (number | string)[]): Case {
  return {
    name,
    op: 'Conv',
    dtype: 'float32',
    eps: 0.5,
    perElement: 400,
    inputs: [
      { name: 'X', dims: xDims, shape: xShape },
      { name: 'W', dims: wDims },
      ...(bias ? [{ name: 'B', dims: [wDims[0]] }] : []),
    ],
    build: (g, [X, W, B]) => g.op('Conv', B ? [X, W, B] : [X, W], attrs),
  };
}
function maxPool(name: string, dims: number[], k: number, s: number, dtype: 'float32' | 'float64', pads?: number[]): Case {
  const n = dims.reduce((a, b) => a * b, 1);
  return {
    name,
    op: 'MaxPool',
    dtype,
    // distinct values 0.05 apart; the step keeps every window's arg-max (|εv| ≤ ~0.004)
    eps: dtype === 'float64' ? 1e-6 : 1e-3,
    perElement: 400,
    inputs: [{ name: 'X', dims, data: dist(n, n + k) }],
    build: (g, [X]) => g.opN('MaxPool', [X], 2, { kernel_shape: [k, k], strides: [s, s], ...(pads ? { pads } : {}) })[0],
  };
}
function batchNorm(name: string, dims: number[]): Case {
  const C = dims[1];
  return {
    name,
    op: 'BatchNormalization',
    inputs: [
      { name: 'X', dims },
      { name: 'scale', dims: [C], sample: uniform(0.5, 1.5) },
      { name: 'bias', dims: [C] },
      { name: 'mean', dims: [C], wrt: false },
      { name: 'var', dims: [C], sample: uniform(0.5, 1.5), wrt: false },
    ],
    build: (g, [X, s, b, m, v]) => g.opN('BatchNormalization', [X, s, b, m, v], 3, { training_mode: 1, epsilon: 1e-5, momentum: 0.9 })[0],
  };
}
/** The case with its first input's batch dimension symbolic ('N'). */
function symbolicN(c: Case): Case {
  const [x, ...rest] = c.inputs;
  return { ...c, inputs: [{ ...x, shape: ['N', ...x.dims.slice(1)] }, ...rest] };
}
const reduce = (op: string, dims: number[], axes: number[] | null, keep: 0 | 1, shape?: (number | string)[], sample = normal): Case => ({
  name: `${op} axes=${axes ? `[${axes}]` : 'all'} keepdims=${keep}${shape ? ` shape [${shape}]` : ''}`,
  op,
  inputs: [{ name: 'x', dims, shape, sample }],
  build: (g, [x]) => g.op(op, axes ? [x, g.ints(axes)] : [x], { keepdims: keep }),
});

const CASES: Case[] = [
  unary('Identity', [2, 3]),
  // ---- broadcasting arithmetic ----
  binary('Add', [4, 3], [3], 'Add [N,3]+[3]'),
  binary('Add', [4, 3], [], 'Add [N,3]+scalar'),
  { ...binary('Add', [4, 3], [3], 'Add [N,3]+[3], symbolic N'), inputs: [{ name: 'a', dims: [4, 3], shape: ['N', 3] }, { name: 'b', dims: [3] }] },
  binary('Sub', [4, 1], [4, 3], 'Sub [N,1]-[N,3]'),
  binary('Sub', [2, 3], [], 'Sub [2,3]-scalar'),
  binary('Mul', [4, 1], [4, 3], 'Mul [N,1]*[N,3]'),
  binary('Mul', [2, 3, 2], [3, 1], 'Mul [2,3,2]*[3,1]'),
  binary('Div', [4, 3], [3], 'Div [N,3]/[3]', normal, awayFromZero(0.5, 2)),
  binary('Div', [], [2, 3], 'Div scalar/[2,3]', normal, awayFromZero(0.5, 2)),
  {
    name: 'Sum of [2,3], [3], [2,1]',
    op: 'Sum',
    inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }, { name: 'c', dims: [2, 1] }],
    build: (g, [a, b, c]) => g.op('Sum', [a, b, c]),
  },
  unary('Neg', [2, 3]),
  // ---- activations (inputs away from kinks; then near them, |x| ~ 1e-3 ≫ |εv|) ----
  unary('Relu', [3, 4], awayFromZero()),
  unary('Relu', [3, 4], nearZero(), {}, 'Relu near the kink (|x| ≤ 2e-3)'),
  { ...unary('Relu', [3, 4], nearZero(), {}, 'Relu near the kink [where]'), grad: { maskGrad: 'where' } },
  unary('LeakyRelu', [3, 4], awayFromZero(), { alpha: 0.1 }, 'LeakyRelu alpha=0.1'),
  unary('LeakyRelu', [3, 4], nearZero(), {}, 'LeakyRelu default alpha, near the kink'),
  unary('Tanh', [3, 4]),
  unary('Sigmoid', [3, 4]),
  unary('Exp', [3, 4]),
  unary('Log', [3, 4], uniform(0.2, 3)),
  unary('Sqrt', [3, 4], uniform(0.2, 3)),
  unary('Reciprocal', [3, 4], awayFromZero(0.3, 2)),
  unary('Abs', [3, 4], awayFromZero()),
  unary('Abs', [3, 4], nearZero(), {}, 'Abs near the kink'),
  ...[2, 0.5, 3, -1].map(
    (p): Case => ({
      name: `Pow x^${p}`,
      op: 'Pow',
      inputs: [{ name: 'x', dims: [3, 4], sample: p === 0.5 || p === -1 ? uniform(0.3, 2) : normal }],
      build: (g, [x]) => g.op('Pow', [x, g.scalar(p, 'float64')]),
    }),
  ),
  {
    name: 'Clip [-0.5, 0.5]',
    op: 'Clip',
    // half inside, half outside, all ≥ 0.05 from the bounds
    inputs: [{ name: 'x', dims: [4, 5], sample: (r) => (r.float() < 0.5 ? uniform(-0.45, 0.45)(r) : awayFromZero(0.55, 1.5)(r)) }],
    build: (g, [x]) => g.op('Clip', [x, g.scalar(-0.5, 'float64'), g.scalar(0.5, 'float64')]),
  },
  {
    name: 'Clip min only (0.1)',
    op: 'Clip',
    inputs: [{ name: 'x', dims: [4, 5], sample: (r) => 0.1 + awayFromZero(0.05, 1)(r) }],
    build: (g, [x]) => g.op('Clip', [x, g.scalar(0.1, 'float64'), null]),
  },
  {
    name: 'Clip max only (0.2)',
    op: 'Clip',
    inputs: [{ name: 'x', dims: [4, 5], sample: (r) => 0.2 + awayFromZero(0.05, 1)(r) }],
    build: (g, [x]) => g.op('Clip', [x, null, g.scalar(0.2, 'float64')]),
  },
  ...(['mul', 'where'] as const).map(
    (m): Case => ({
      name: `Clip [0, 6] (ReLU6) [${m}]`,
      op: 'Clip',
      // below 0, inside, above 6; all ≥ 0.1 from the bounds
      inputs: [{ name: 'x', dims: [4, 6], sample: (r) => [uniform(-2, -0.1), uniform(0.1, 5.9), uniform(6.1, 8)][r.int(3)](r) }],
      build: (g, [x]) => g.op('Clip', [x, g.scalar(0, 'float64'), g.scalar(6, 'float64')]),
      grad: { maskGrad: m },
    }),
  ),
  // the native mask operators (float32; piecewise linear, so exact differences at any ε that
  // stays on one side of the kinks)
  ...(nativeSessions()
    ? [
        { ...unary('Relu', [3, 4], awayFromZero(0.3, 2), {}, 'Relu [native]'), dtype: 'float32' as const, eps: 0.1, grad: { maskGrad: 'native' } as const },
        {
          name: 'Clip [0, 6] (ReLU6) [native]',
          op: 'Clip',
          dtype: 'float32' as const,
          eps: 0.05,
          inputs: [{ name: 'x', dims: [4, 6], sample: (r: Rng) => [uniform(-2, -0.1), uniform(0.1, 5.9), uniform(6.1, 8)][r.int(3)](r) }],
          build: (g: GraphBuilder, [x]: Value[]) => g.op('Clip', [x, g.scalar(0, 'float32'), g.scalar(6, 'float32')]),
          grad: { maskGrad: 'native' } as const,
        },
      ]
    : []),
  // HardSigmoid: inputs on both flat parts and the slope, ≥ 0.1 from the kinks at (±0.5 − β)/α
  unary('HardSigmoid', [4, 6], (r) => [uniform(-5, -2.8), uniform(-2.2, 2.2), uniform(2.8, 5)][r.int(3)](r), {}, 'HardSigmoid (default α=0.2, β=0.5)'),
  unary('HardSigmoid', [4, 6], (r) => [uniform(-3, -1.2), uniform(-0.8, 1.8), uniform(2.2, 4)][r.int(3)](r), { alpha: 0.5, beta: 0.4 }, 'HardSigmoid α=0.5, β=0.4'),
  // HardSwish: below −3 (zero), the quadratic middle, above 3 (identity); ≥ 0.1 from the kinks
  unary('HardSwish', [4, 6], (r) => [uniform(-5, -3.1), uniform(-2.9, 2.9), uniform(3.1, 5)][r.int(3)](r)),
  // Max/Min: a grid of distinct values split between a and b, so no ties
  { ...binary('Max', [4, 3], [4, 3], 'Max [4,3],[4,3]'), inputs: [{ name: 'a', dims: [4, 3], data: dist(24, 1).slice(0, 12) }, { name: 'b', dims: [4, 3], data: dist(24, 1).slice(12) }] },
  { ...binary('Max', [4, 3], [3], 'Max [N,3],[3]'), inputs: [{ name: 'a', dims: [4, 3], data: dist(15, 2).slice(0, 12) }, { name: 'b', dims: [3], data: dist(15, 2).slice(12) }] },
  { ...binary('Min', [4, 3], [4, 3], 'Min [4,3],[4,3]'), inputs: [{ name: 'a', dims: [4, 3], data: dist(24, 3).slice(0, 12) }, { name: 'b', dims: [4, 3], data: dist(24, 3).slice(12) }] },
  { ...binary('Min', [4, 3], [3], 'Min [N,3],[3]'), inputs: [{ name: 'a', dims: [4, 3], data: dist(15, 4).slice(0, 12) }, { name: 'b', dims: [3], data: dist(15, 4).slice(12) }] },
  {
    name: 'Where bool[N,3] ? [N,3] : [3]',
    op: 'Where',
    inputs: [{ name: 'c', dims: [4, 3], dtype: 'bool', data: bool(12, 5) }, { name: 'a', dims: [4, 3] }, { name: 'b', dims: [3] }],
    build: (g, [c, a, b]) => g.op('Where', [c, a, b]),
  },
  {
    name: 'Cast float32 → float64',
    op: 'Cast',
    dtype: 'float32',
    eps: 1e-3, // exp after the cast: ε² truncation ~1e-7
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (g, [x]) => g.op('Exp', [g.op('Cast', [x], { to: FLOAT64 })]),
  },
  {
    name: 'Cast float64 → float32',
    op: 'Cast',
    eps: 0.5,
    tol: 1e-5,
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (g, [x]) => g.op('Cast', [x], { to: FLOAT32 }),
  },
  // ---- softmax family ----
  unary('Softmax', [2, 3, 4], normal, { axis: 1 }, 'Softmax axis=1'),
  unary('Softmax', [2, 3, 4], normal, { axis: -1 }, 'Softmax axis=-1'),
  unary('LogSoftmax', [2, 3, 4], normal, { axis: 1 }, 'LogSoftmax axis=1'),
  unary('LogSoftmax', [3, 5], normal, { axis: -1 }, 'LogSoftmax axis=-1'),
  // ---- reductions ----
  reduce('ReduceSum', [2, 3, 4], [1], 0),
  reduce('ReduceSum', [2, 3, 4], [0, 2], 1),
  reduce('ReduceSum', [2, 3, 4], [-1], 0),
  reduce('ReduceSum', [2, 3, 4], null, 0),
  reduce('ReduceMean', [2, 3, 4], [1], 0),
  reduce('ReduceMean', [2, 3, 4], [0, 2], 1),
  reduce('ReduceMean', [2, 3, 4], null, 1),
  reduce('ReduceMean', [4, 3], [0], 0, ['N', 3]),
  reduce('ReduceMean', [4, 3, 2], [0, 2], 1, ['N', 3, 2]),
  // onnxruntime has GlobalAveragePool in float32 only; it is linear, so float32 differences at ε = 0.01 are exact to ~1e-5
  { ...unary('GlobalAveragePool', [2, 3, 4, 5], normal, {}, 'GlobalAveragePool [N,3,?,5] (count from the shape at run time, float32)'), dtype: 'float32', eps: 1e-2, tol: 1e-3, inputs: [{ name: 'x', dims: [2, 3, 4, 5], shape: ['N', 3, '?', 5] }] },
  reduce('ReduceMax', [2, 3, 4], [1], 0),
  reduce('ReduceMax', [2, 3, 4], [0, 2], 1),
  reduce('ReduceMax', [2, 3, 4], null, 0),
  // ---- shape ops ----
  { name: 'Reshape [2,3,4]→[6,-1]', op: 'Reshape', inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.reshape(x, [6, -1]) },
  { name: 'Reshape [N,3,4]→[0,-1]', op: 'Reshape', inputs: [{ name: 'x', dims: [2, 3, 4], shape: ['N', 3, 4] }], build: (g, [x]) => g.reshape(x, [0, -1]) },
  unary('Flatten', [2, 3, 2, 2], normal, { axis: 1 }, 'Flatten axis=1'),
  unary('Flatten', [2, 3, 2, 2], normal, { axis: 2 }, 'Flatten axis=2'),
  { name: 'Squeeze [2,1,3,1] axes [1,3]', op: 'Squeeze', inputs: [{ name: 'x', dims: [2, 1, 3, 1] }], build: (g, [x]) => g.op('Squeeze', [x, g.ints([1, 3])]) },
  { name: 'Squeeze (no axes)', op: 'Squeeze', inputs: [{ name: 'x', dims: [2, 1, 3] }], build: (g, [x]) => g.op('Squeeze', [x]) },
  { name: 'Unsqueeze [2,3] axes [0,-1]', op: 'Unsqueeze', inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.op('Unsqueeze', [x, g.ints([0, -1])]) },
  { name: 'Expand [3,1]→[2,3,4]', op: 'Expand', inputs: [{ name: 'x', dims: [3, 1] }], build: (g, [x]) => g.op('Expand', [x, g.ints([2, 3, 4])]) },
  { name: 'Transpose perm [2,0,1]', op: 'Transpose', inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.op('Transpose', [x], { perm: [2, 0, 1] }) },
  unary('Transpose', [2, 3], normal, {}, 'Transpose (default perm)'),
  {
    name: 'Concat axis=1 of three',
    op: 'Concat',
    inputs: [{ name: 'a', dims: [2, 1, 2] }, { name: 'b', dims: [2, 3, 2] }, { name: 'c', dims: [2, 2, 2] }],
    build: (g, [a, b, c]) => g.op('Concat', [a, b, c], { axis: 1 }),
  },
  {
    name: 'Concat axis=-1, symbolic batch',
    op: 'Concat',
    inputs: [{ name: 'a', dims: [3, 2], shape: ['N', 2] }, { name: 'b', dims: [3, 4], shape: ['N', 4] }],
    build: (g, [a, b]) => g.op('Concat', [a, b], { axis: -1 }),
  },
  {
    name: 'Slice [1:3, -3:] on [4,5]',
    op: 'Slice',
    inputs: [{ name: 'x', dims: [4, 5] }],
    build: (g, [x]) => g.op('Slice', [x, g.ints([1, -3]), g.ints([3, 100]), g.ints([0, 1])]),
  },
  {
    name: 'Slice axis -1 [1:-1] on [N,2,5]',
    op: 'Slice',
    inputs: [{ name: 'x', dims: [3, 2, 5], shape: ['N', 2, 5] }],
    build: (g, [x]) => g.op('Slice', [x, g.ints([1]), g.ints([-1]), g.ints([-1])]),
  },
  {
    name: 'Gather axis=0, repeated and negative indices',
    op: 'Gather',
    inputs: [{ name: 'x', dims: [4, 3] }, { name: 'i', dims: [5], dtype: 'int64', data: [2, 0, 2, -1, 1] }],
    build: (g, [x, i]) => g.op('Gather', [x, i], { axis: 0 }),
  },
  {
    name: 'Gather axis=1, 2-D indices',
    op: 'Gather',
    inputs: [{ name: 'x', dims: [2, 4, 3] }, { name: 'i', dims: [2, 2], dtype: 'int64', data: [3, 1, 1, 0] }],
    build: (g, [x, i]) => g.op('Gather', [x, i], { axis: 1 }),
  },
  // ---- matrix products ----
  gemm(false, false, [2]),
  gemm(false, true, [3, 1]),
  gemm(true, false, [2]),
  gemm(true, true, [3, 2]),
  gemm(false, true, null, 1, 1),
  gemm(true, true, [], 0.5, 2),
  binary('MatMul', [3, 4], [4, 2], 'MatMul 2-D'),
  binary('MatMul', [2, 3, 4], [4, 2], 'MatMul [2,3,4]·[4,2]'),
  binary('MatMul', [3, 4], [2, 4, 2], 'MatMul [3,4]·[2,4,2]'),
  binary('MatMul', [2, 1, 3, 4], [3, 4, 2], 'MatMul [2,1,3,4]·[3,4,2]'),
  // ---- convolution and pools (float32: ORT has no double Conv/ConvTranspose/AveragePool) ----
  conv('Conv stride 1 pad 1', [2, 2, 5, 5], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
  conv('Conv stride 2 pad 1, 7×7 (no output_padding)', [2, 2, 7, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('Conv stride 2 pad 1, 8×7 (output_padding)', [2, 2, 8, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('Conv stride 2 no pad, 6×6, 2×3 kernel, no bias', [2, 2, 6, 6], [2, 2, 2, 3], { strides: [2, 2] }, false),
  conv('Conv stride 1 asymmetric pads, symbolic N', [2, 1, 5, 4], [2, 1, 3, 3], { pads: [0, 1, 2, 1] }, true, ['N', 1, 5, 4]),
  // grouped convolutions: depthwise (group = channels), depthwise with a channel multiplier, and 2 groups of 2→3
  conv('Conv depthwise group=3, stride 1 pad 1', [2, 3, 5, 5], [3, 1, 3, 3], { pads: [1, 1, 1, 1], group: 3 }),
  conv('Conv depthwise group=3, stride 2 pad 1, 8×7 (output_padding), no bias', [2, 3, 8, 7], [3, 1, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], group: 3 }, false),
  conv('Conv depthwise ×2 multiplier (group=2, 2→4), symbolic N', [3, 2, 5, 4], [4, 1, 3, 3], { pads: [1, 1, 1, 1], group: 2 }, true, ['N', 2, 5, 4]),
  conv('Conv group=2 (4→6), stride 2 pad 1, 2×3 kernel', [1, 4, 6, 7], [6, 2, 2, 3], { strides: [2, 2], pads: [1, 1, 0, 1], group: 2 }),
  // every ungrouped case, and the depthwise stride-1 ones, again in both formulations of the input and weight gradients (GradOptions)
  ...(
    [
      ['conv/im2col', { convInputGrad: 'conv', convWeightGrad: 'im2col' }],
      ['convtranspose/conv', { convInputGrad: 'convtranspose', convWeightGrad: 'conv' }],
      ['conv/im2col-rows', { convInputGrad: 'conv', convWeightGrad: 'im2col-rows' }],
      ['conv/offsets', { convInputGrad: 'conv', convWeightGrad: 'offsets' }],
    ] as const
  ).flatMap(([tag, grad]) =>
    [
      conv('Conv stride 1 pad 1', [2, 2, 5, 5], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
      conv('Conv stride 1 no pad, 5×5 kernel on 6×5', [2, 3, 6, 5], [2, 3, 5, 5], {}),
      conv('Conv stride 2 pad 1, 8×7 (output_padding)', [2, 2, 8, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
      conv('Conv stride 2 no pad, 6×6, 2×3 kernel, no bias', [2, 2, 6, 6], [2, 2, 2, 3], { strides: [2, 2] }, false),
      conv('Conv stride 1 asymmetric pads, symbolic N', [2, 1, 5, 4], [2, 1, 3, 3], { pads: [0, 1, 2, 1] }, true, ['N', 1, 5, 4]),
      conv('Conv 1×1 stride 2', [2, 3, 5, 5], [4, 3, 1, 1], { strides: [2, 2] }),
      conv('Conv 1×1 stride 1', [2, 3, 4, 5], [4, 3, 1, 1], {}),
      // C·k² ≤ 2·M: by default (offsets asked, not fitting) the patch matrix is built whole
      conv('Conv 1 channel → 8, 3×3 pad 1 (a small patch matrix)', [2, 1, 5, 5], [8, 1, 3, 3], { pads: [1, 1, 1, 1] }),
      // 16 input channels: where the 'offsets' weight gradient applies (fewer take im2col-rows)
      conv('Conv 16 channels, stride 1 pad 1', [2, 16, 5, 4], [3, 16, 3, 3], { pads: [1, 1, 1, 1] }),
      conv('Conv 16 channels, 2×3 kernel, asymmetric pads, symbolic N', [2, 16, 4, 5], [2, 16, 2, 3], { pads: [0, 1, 1, 1] }, true, ['N', 16, 4, 5]),
      conv('Conv depthwise group=3, stride 1 pad 1', [2, 3, 5, 5], [3, 1, 3, 3], { pads: [1, 1, 1, 1], group: 3 }),
      conv('Conv depthwise group=2, stride 1, asymmetric pads, 3×2 kernel, symbolic N', [2, 2, 5, 6], [2, 1, 3, 2], { pads: [2, 0, 1, 1], group: 2 }, true, ['N', 2, 5, 6]),
    ].map((c) => ({ ...c, name: `${c.name} [${tag}]`, grad })),
  ),
  {
    name: 'GlobalAveragePool [N,C,H,W]',
    op: 'GlobalAveragePool',
    dtype: 'float32',
    eps: 0.5,
    perElement: 400,
    inputs: [{ name: 'X', dims: [2, 3, 4, 5], shape: ['N', 3, 4, 5] }],
    build: (g, [X]) => g.op('GlobalAveragePool', [X]),
  },
  ...(nativeSessions()
    ? [
        {
          name: 'GlobalAveragePool [N,C,H,W] [native]',
          op: 'GlobalAveragePool',
          dtype: 'float32' as const,
          eps: 0.5,
          perElement: 400,
          inputs: [{ name: 'X', dims: [2, 3, 4, 5], shape: ['N', 3, 4, 5] }],
          build: (g: GraphBuilder, [X]: Value[]) => g.op('GlobalAveragePool', [X]),
          grad: { globalPoolGrad: 'native' } as const,
        },
      ]
    : []),
  // the native operators (graph/native-ops.ts), where this process has them (runtime/native.ts)
  ...(nativeSessions()
    ? [
        conv('Conv stride 1 pad 1', [2, 2, 5, 5], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
        conv('Conv stride 1 no pad, 5×5 kernel on 6×5', [2, 3, 6, 5], [2, 3, 5, 5], {}),
        conv('Conv stride 2 pad 1, 7×7 (no output_padding)', [2, 2, 7, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
        conv('Conv stride 2 pad 1, 8×7 (output_padding)', [2, 2, 8, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
        conv('Conv stride 2 no pad, 6×6, 2×3 kernel, no bias', [2, 2, 6, 6], [2, 2, 2, 3], { strides: [2, 2] }, false),
        conv('Conv stride 1 asymmetric pads, symbolic N', [2, 1, 5, 4], [2, 1, 3, 3], { pads: [0, 1, 2, 1] }, true, ['N', 1, 5, 4]),
        conv('Conv 1×1 stride 2', [2, 3, 5, 5], [4, 3, 1, 1], { strides: [2, 2] }),
        conv('Conv 16 channels, 2×3 kernel, asymmetric pads, symbolic N', [2, 16, 4, 5], [2, 16, 2, 3], { pads: [0, 1, 1, 1] }, true, ['N', 16, 4, 5]),
        conv('Conv depthwise group=3, stride 2 pad 1, 8×7 (output_padding), no bias', [2, 3, 8, 7], [3, 1, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], group: 3 }, false),
        conv('Conv depthwise ×2 multiplier (group=2, 2→4), symbolic N', [3, 2, 5, 4], [4, 1, 3, 3], { pads: [1, 1, 1, 1], group: 2 }, true, ['N', 2, 5, 4]),
        conv('Conv group=2 (4→6), stride 2 pad 1, 2×3 kernel', [1, 4, 6, 7], [6, 2, 2, 3], { strides: [2, 2], pads: [1, 1, 0, 1], group: 2 }),
      ].map((c) => ({ ...c, name: `${c.name} [native]`, grad: { convInputGrad: 'native', convWeightGrad: 'native' } as const }))
    : []),
  ...(nativeSessions()
    ? [
        maxPool('MaxPool 2×2/2 (float32)', [2, 2, 4, 6], 2, 2, 'float32'),
        maxPool('MaxPool 2×2/2 on 5×7 (float32, ragged edge)', [1, 2, 5, 7], 2, 2, 'float32'),
        maxPool('MaxPool 3×3/3 on 7×8 (float32, ragged edge)', [2, 3, 7, 8], 3, 3, 'float32'),
        maxPool('MaxPool 3×3/2 overlapping (float32)', [2, 2, 7, 7], 3, 2, 'float32'),
        maxPool('MaxPool 3×3/2 overlapping, pads 1 (float32)', [1, 2, 6, 6], 3, 2, 'float32', [1, 1, 1, 1]),
      ].map((c) => ({ ...c, name: `${c.name} [native]`, grad: { maxPoolGrad: 'native' } as const }))
    : []),
  // non-overlapping windows: the forward's Indices (default), or indices found again from the phases
  ...(['argmax', 'phases', 'indices'] as const).flatMap((form) =>
    [
      maxPool('MaxPool 2×2/2 (float64, scatter path)', [2, 2, 4, 6], 2, 2, 'float64'),
      maxPool('MaxPool 2×2/2 (float32, MaxUnpool path)', [2, 2, 4, 6], 2, 2, 'float32'),
      maxPool('MaxPool 2×2/2 on 5×7 (float32, MaxUnpool path, ragged edge)', [1, 2, 5, 7], 2, 2, 'float32'),
      maxPool('MaxPool 3×3/3 on 7×8 (float32, ragged edge)', [2, 3, 7, 8], 3, 3, 'float32'),
    ].map((c) => ({ ...c, name: `${c.name} [${form}]`, grad: { maxPoolGrad: form } })),
  ),
  { ...maxPool('MaxPool 2×2/2 without the Indices output', [2, 2, 4, 6], 2, 2, 'float32'), build: (g, [X]) => g.op('MaxPool', [X], { kernel_shape: [2, 2], strides: [2, 2] }) },
  maxPool('MaxPool 3×3/2 overlapping', [2, 2, 7, 7], 3, 2, 'float64'),
  maxPool('MaxPool 3×3/2 overlapping, pads 1', [1, 2, 6, 6], 3, 2, 'float64', [1, 1, 1, 1]),
  {
    name: 'AveragePool 2×2/2',
    op: 'AveragePool',
    dtype: 'float32',
    eps: 0.5,
    perElement: 400,
    inputs: [{ name: 'X', dims: [2, 2, 4, 6] }],
    build: (g, [X]) => g.op('AveragePool', [X], { kernel_shape: [2, 2], strides: [2, 2] }),
  },
  {
    name: 'AveragePool 3×3/2 on 8×7 (output_padding)',
    op: 'AveragePool',
    dtype: 'float32',
    eps: 0.5,
    perElement: 400,
    inputs: [{ name: 'X', dims: [1, 2, 8, 7] }],
    build: (g, [X]) => g.op('AveragePool', [X], { kernel_shape: [3, 3], strides: [2, 2] }),
  },
  {
    name: 'AveragePool 3×3/1 pads 1 count_include_pad',
    op: 'AveragePool',
    dtype: 'float32',
    eps: 0.5,
    perElement: 400,
    inputs: [{ name: 'X', dims: [1, 2, 4, 4] }],
    build: (g, [X]) => g.op('AveragePool', [X], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  },
  batchNorm('BatchNormalization [N,C] training', [5, 3]),
  batchNorm('BatchNormalization [N,C,H,W] training', [2, 3, 3, 2]),
  // native (float32 only): central differences of a nonlinear op in float32, so a looser check
  // (ε = 1e-2: truncation ~ε², rounding ~1e-7/ε); test/engine/native.test.ts compares it with a
  // float64 reference at 1e-5, and grad-forms.test.ts with 'fused' on whole networks
  ...(nativeSessions()
    ? [
        batchNorm('BatchNormalization [N,C] training', [5, 3]),
        batchNorm('BatchNormalization [N,C,H,W] training', [2, 3, 3, 2]),
        symbolicN(batchNorm('BatchNormalization [N,C,H,W] training, symbolic N', [3, 2, 2, 3])),
      ].map((c) => ({ ...c, name: `${c.name} [native]`, dtype: 'float32' as const, eps: 1e-2, tol: 2e-3, grad: { batchNormGrad: 'native' } as const }))
    : []),
  ...(['fused', 'affine', 'plain'] as const).flatMap((form) =>
    [
      batchNorm('BatchNormalization [N,C] training', [5, 3]),
      batchNorm('BatchNormalization [N,C,H,W] training', [2, 3, 3, 2]),
      symbolicN(batchNorm('BatchNormalization [N,C,H,W] training, symbolic N', [3, 2, 2, 3])),
    ].map((c) => ({ ...c, name: `${c.name} [${form}]`, grad: { batchNormGrad: form } })),
  ),
  {
    name: 'Dropout ratio 0 (training) = identity',
    op: 'Dropout',
    inputs: [{ name: 'x', dims: [3, 4] }],
    build: (g, [x]) => g.opN('Dropout', [x, g.scalar(0, 'float64'), g.const(tensor('bool', [], [1]))], 2)[0],
  },
  {
    name: 'Dropout inference (training_mode false)',
    op: 'Dropout',
    inputs: [{ name: 'x', dims: [3, 4] }],
    build: (g, [x]) => g.op('Dropout', [x, g.scalar(0.5, 'float64')]),
  },
];

const results: CheckResult[] = [];

after(() => {
  // The measured errors, one line per case (shown by `node --test` as test output).
  const w = Math.max(...results.map((r) => r.name.length));
  const lines = results.map(
    (r) => `${r.name.padEnd(w)}  ${r.dtype}  dir ${r.dirErr.toExponential(1)}  elem ${r.elemErr === null ? '   -   ' : r.elemErr.toExponential(1)}  (tol ${r.tol.toExponential(0)}, ${r.runs} runs)`,
  );
  console.log(['gradient checks (relative errors):', ...lines].join('\n'));
});

describe('gradient rules vs central finite differences', () => {
  it('every rule in GRAD_RULES has a check', () => {
    const tested = new Set(CASES.map((c) => c.op));
    assert.deepEqual([...tested].sort(), Object.keys(GRAD_RULES).sort());
  });
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await gradcheck(c);
      results.push(r);
      assert.ok(
        r.maxErr <= r.tol,
        `${c.name}: relative error ${r.maxErr.toExponential(2)} > ${r.tol} (directional ${r.dirAnalytic} analytic vs ${r.dirNumeric} numeric; per element ${r.elemErr})`,
      );
    });
  }
});

/** Build a graph, run it once, return every output as float64 arrays. */
async function runGraph(g: GraphBuilder, feeds: Record<string, TensorData>): Promise<Record<string, number[]>> {
  const r = await Runner.create(g.build(), { threads: 1 });
  try {
    const res = await r.run(feeds);
    const out: Record<string, number[]> = {};
    for (const k of Object.keys(res)) out[k] = Array.from(res[k].data as ArrayLike<number | bigint>, Number);
    return out;
  } finally {
    await r.release();
  }
}
const f64 = (dims: number[], xs: number[]) => tensor('float64', dims, xs);

describe('gradient rules: exact conventions', () => {
  it('MaxPool with ties: the gradient goes to the first maximum of each window (row-major), in every form, as a plain reference says', async () => {
    for (const [dims, b, dtype] of [
      [[2, 3, 6, 8], 2, 'float32'],
      [[1, 2, 7, 8], 3, 'float32'],
      [[2, 2, 4, 6], 2, 'float64'],
      [[2, 2, 9, 6], 3, 'float32'],
    ] as const) {
      const [N, C, H, W] = dims;
      const [Ho, Wo] = [Math.floor(H / b), Math.floor(W / b)];
      const rng = new Rng(5 + b);
      // values in {0, 1, 2}: most windows have tied maxima
      const xs = Array.from({ length: N * C * H * W }, () => rng.int(3));
      const rs = Array.from({ length: N * C * Ho * Wo }, () => rng.normal());
      const want = new Array<number>(xs.length).fill(0);
      let tiedWindows = 0;
      for (let nc = 0; nc < N * C; nc++)
        for (let h = 0; h < Ho; h++)
          for (let w = 0; w < Wo; w++) {
            let best = -1;
            let count = 0;
            for (let a = 0; a < b; a++)
              for (let e = 0; e < b; e++) {
                const i = (nc * H + h * b + a) * W + w * b + e;
                if (best < 0 || xs[i] > xs[best]) [best, count] = [i, 1];
                else if (xs[i] === xs[best]) count++;
              }
            want[best] += rs[(nc * Ho + h) * Wo + w];
            if (count > 1) tiedWindows++;
          }
      assert.ok(tiedWindows > 0, 'the input has windows with tied maxima');
      for (const form of ['argmax', 'phases', 'indices', ...(nativeSessions() ? (['native'] as const) : [])] as const) {
        const g = new GraphBuilder('maxpool_ties');
        const x = g.input('x', dtype, [...dims]);
        const r = g.input('r', dtype, [N, C, Ho, Wo]);
        const y = g.opN('MaxPool', [x], 2, { kernel_shape: [b, b], strides: [b, b] })[0];
        const dx = backward(g, g.op('ReduceSum', [g.mul(y, r)], { keepdims: 0 }), [x], { grad: { maxPoolGrad: form } }).get('x')!;
        g.output(g.op('Identity', [dx], {}, { names: ['dx'] }));
        const t = (d: readonly number[], v: number[]) => tensor(dtype, [...d], dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));
        const out = await runGraph(g, { x: t(dims, xs), r: t([N, C, Ho, Wo], rs) });
        for (let i = 0; i < xs.length; i++) assert.equal(out.dx[i], dtype === 'float32' ? Math.fround(want[i]) : want[i], `${form} [${dims}] b=${b} dx[${i}]`);
      }
    }
  });

  it('Dropout (training, ratio 0.25): dx = gy·mask/(1 − ratio) with the mask the forward drew', async () => {
    const ratio = 0.25;
    const n = 400;
    const rng = new Rng(3);
    const xs = Array.from({ length: n }, () => rng.normal());
    const rs = Array.from({ length: n }, () => rng.normal());
    const g = new GraphBuilder('dropout');
    const x = g.input('x', 'float64', [20, 20]);
    const r = g.input('r', 'float64', [20, 20]);
    const [y, mask] = g.opN('Dropout', [x, g.scalar(ratio, 'float64'), g.const(tensor('bool', [], [1]))], 2);
    const loss = g.op('ReduceSum', [g.mul(y, r)], { keepdims: 0 });
    const dx = backward(g, loss, [x]).get('x')!;
    g.output(g.op('Identity', [y], {}, { names: ['y'] }));
    g.output(g.op('Identity', [mask], {}, { names: ['mask'] }));
    g.output(g.op('Identity', [dx], {}, { names: ['dx'] }));
    const out = await runGraph(g, { x: f64([20, 20], xs), r: f64([20, 20], rs) });
    const kept = out.mask.filter(Boolean).length;
    assert.ok(kept > 0.6 * n && kept < 0.9 * n, `mask keeps ${kept}/${n}`);
    const s = 1 / (1 - ratio);
    for (let i = 0; i < n; i++) {
      assert.equal(out.dx[i], rs[i] * (out.mask[i] ? s : 0), `dx[${i}]`);
      assert.ok(Math.abs(out.y[i] - (out.mask[i] ? xs[i] * s : 0)) <= 1e-15 * Math.abs(xs[i] * s), `y[${i}]`);
    }
  });

  it('Dropout with a fed (non-constant) ratio and training flag', async () => {
    const n = 200;
    const rng = new Rng(4);
    const xs = Array.from({ length: n }, () => rng.normal());
    const rs = Array.from({ length: n }, () => rng.normal());
    const g = new GraphBuilder('dropout_fed');
    const x = g.input('x', 'float64', [n]);
    const r = g.input('r', 'float64', [n]);
    const ratio = g.input('ratio', 'float64', []);
    const training = g.input('training', 'bool', []);
    const [y, mask] = g.opN('Dropout', [x, ratio, training], 2);
    const dx = backward(g, g.op('ReduceSum', [g.mul(y, r)], { keepdims: 0 }), [x]).get('x')!;
    g.output(g.op('Identity', [mask], {}, { names: ['mask'] }));
    g.output(g.op('Identity', [dx], {}, { names: ['dx'] }));
    const rt = await Runner.create(g.build(), { threads: 1 });
    try {
      for (const [p, tr] of [[0.4, 1], [0.4, 0]] as const) {
        const res = await rt.run({ x: f64([n], xs), r: f64([n], rs), ratio: f64([], [p]), training: tensor('bool', [], [tr]) });
        const m = Array.from(res.mask.data as Uint8Array);
        const d = Array.from(res.dx.data as Float64Array);
        for (let i = 0; i < n; i++) {
          const want = tr ? rs[i] * (m[i] ? 1 / (1 - p) : 0) : rs[i];
          assert.ok(Math.abs(d[i] - want) <= 1e-15 * Math.abs(want), `training=${tr} dx[${i}] ${d[i]} vs ${want}`);
        }
      }
    } finally {
      await rt.release();
    }
  });

  it('Relu and Abs at exactly 0 give gradient 0; ReduceMax splits ties evenly; Max ties go to the first input', async () => {
    const g = new GraphBuilder('conventions');
    const x = g.input('x', 'float64', [2, 3]);
    const b = g.input('b', 'float64', [2, 3]);
    const relu = g.op('ReduceSum', [g.op('Relu', [x])], { keepdims: 0 });
    const abs = g.op('ReduceSum', [g.op('Abs', [x])], { keepdims: 0 });
    const rmax = g.op('ReduceSum', [g.op('ReduceMax', [x, g.ints([1])], { keepdims: 0 })], { keepdims: 0 });
    const mx = g.op('ReduceSum', [g.op('Max', [x, b])], { keepdims: 0 });
    const outs: Record<string, Value> = {
      relu: backward(g, relu, [x]).get('x')!,
      abs: backward(g, abs, [x]).get('x')!,
      rmax: backward(g, rmax, [x]).get('x')!,
    };
    const gm = backward(g, mx, [x, b]);
    outs.maxA = gm.get('x')!;
    outs.maxB = gm.get('b')!;
    for (const k of Object.keys(outs)) g.output(g.op('Identity', [outs[k]], {}, { names: [k] }));
    const res = await runGraph(g, { x: f64([2, 3], [0, 1, 0, 2, 2, -1]), b: f64([2, 3], [0, 0, 1, 2, 3, -2]) });
    assert.deepEqual(res.relu, [0, 1, 0, 1, 1, 0]);
    assert.deepEqual(res.abs, [0, 1, 0, 1, 1, -1]);
    assert.deepEqual(res.rmax, [0, 1, 0, 0.5, 0.5, 0]);
    assert.deepEqual(res.maxA, [1, 1, 0, 1, 0, 1]);
    assert.deepEqual(res.maxB, [0, 0, 1, 0, 1, 0]);
  });
});

describe('backward walker', () => {
  it('accumulates fan-out (x used three times)', async () => {
    const r = await gradcheck({
      name: 'fan-out x·x + tanh(x)',
      op: 'Mul',
      inputs: [{ name: 'x', dims: [3, 2] }],
      build: (g, [x]) => g.add(g.mul(x, x), g.op('Tanh', [x])),
    });
    results.push(r);
    assert.ok(r.maxErr <= r.tol, `relative error ${r.maxErr}`);
  });

  it('unbroadcasts gradients to [1,C] and [C] parameters', async () => {
    const r = await gradcheck({
      name: 'unbroadcast x[N,C]·w[1,C] + b[C]',
      op: 'Add',
      inputs: [{ name: 'x', dims: [4, 3], shape: ['N', 3] }, { name: 'w', dims: [1, 3] }, { name: 'b', dims: [3] }],
      build: (g, [x, w, b]) => g.add(g.mul(x, w), b),
    });
    results.push(r);
    assert.deepEqual(r.gradShapes, { x: ['N', 3], w: [1, 3], b: [3] });
    assert.ok(r.maxErr <= r.tol, `relative error ${r.maxErr}`);
  });

  it('gives no gradient to values off the path to the loss, and needs no rule there', () => {
    const g = new GraphBuilder('offpath');
    const x = g.input('x', 'float64', [2, 3]);
    const unused = g.input('unused', 'float64', [2, 3]);
    const side = g.input('side', 'float64', [2, 3]);
    g.output(g.op('Floor', [g.mul(side, x)])); // uses x, but does not feed the loss
    const k = g.input('k', 'float64', [2, 3]);
    const loss = g.op('ReduceSum', [g.add(g.mul(x, x), g.op('Floor', [k]))], { keepdims: 0 }); // Floor of a constant w.r.t. x
    const grads = backward(g, loss, [x, unused, side]);
    assert.deepEqual([...grads.keys()], ['x']);
  });

  it('names the op when a rule is missing', () => {
    const g = new GraphBuilder('norule');
    const x = g.input('x', 'float64', [2, 3]);
    const loss = g.op('ReduceSum', [g.op('Floor', [g.op('Exp', [x])])], { keepdims: 0 });
    assert.throws(
      () => backward(g, loss, [x]),
      (e: unknown) => e instanceof NoGradientRuleError && /'Floor'/.test(e.message) && /Floor/.test(e.message),
    );
  });
});

describe('attributes a rule does not handle are refused, naming node, op and attribute', () => {
  const conv = (attrs: Record<string, string | number | number[]>) => {
    const g = new GraphBuilder('attr_conv');
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    const w = g.input('w', 'float32', [1, 1, 3, 3]);
    const y = g.op('Conv', [x, w], { kernel_shape: [3, 3], ...attrs }, { out: [{ dtype: 'float32', shape: [1, 1, 4, 4] }] });
    return { g, x, w, loss: g.op('ReduceSum', [y], { keepdims: 0 }) };
  };
  const pool = (op: 'MaxPool' | 'AveragePool', attrs: Record<string, string | number | number[]>) => {
    const g = new GraphBuilder('attr_pool');
    const x = g.input('x', 'float32', [1, 1, 5, 5]);
    const y = g.opN(op, [x], op === 'MaxPool' ? 2 : 1, { kernel_shape: [2, 2], strides: [2, 2], ...attrs }, { out: op === 'MaxPool' ? [{ dtype: 'float32', shape: [1, 1, 3, 3] }, { dtype: 'int64', shape: [1, 1, 3, 3] }] : [{ dtype: 'float32', shape: [1, 1, 3, 3] }] })[0];
    return { g, x, loss: g.op('ReduceSum', [y], { keepdims: 0 }) };
  };
  const refused = (attr: string, op: string) => (e: unknown) =>
    e instanceof UnsupportedAttributeError && e.attribute === attr && e.op === op && new RegExp(`node '[^']+' \\(${op}\\): ${attr}=`).test(e.message);

  it('Conv auto_pad=SAME_UPPER (its padding would be read as none)', () => {
    const { g, x, w, loss } = conv({ auto_pad: 'SAME_UPPER' });
    assert.throws(() => backward(g, loss, [x, w]), refused('auto_pad', 'Conv'));
  });
  it('Conv auto_pad=VALID is no padding, which the rule handles', () => {
    assert.doesNotThrow(() => checkGradAttrs({ name: 'c', op: 'Conv', domain: '', inputs: [], outputs: [], attrs: { auto_pad: { type: 'string', value: 'VALID' } } }));
  });
  for (const op of ['MaxPool', 'AveragePool'] as const) {
    it(`${op} ceil_mode=1 and auto_pad=SAME_LOWER`, () => {
      for (const [k, v] of [['ceil_mode', 1], ['auto_pad', 'SAME_LOWER']] as const) {
        const { g, x, loss } = pool(op, { [k]: v });
        assert.throws(() => backward(g, loss, [x]), refused(k, op));
      }
    });
  }
  it('Conv dilations ≠ 1 (named by the table, before the rule runs); group ≠ 1 is handled by the rule', () => {
    const { g, x, w, loss } = conv({ dilations: [2, 2] });
    assert.throws(() => backward(g, loss, [x, w]), refused('dilations', 'Conv'));
    assert.doesNotThrow(() => checkGradAttrs({ name: 'c', op: 'Conv', domain: '', inputs: [], outputs: [], attrs: { group: { type: 'int', value: 4 } } }));
  });
  const reduceLoss = (op: string, attrs: Record<string, number>, axes?: 'fed') => {
    const g = new GraphBuilder('attr_reduce');
    const x = g.input('x', 'float32', [2, 3]);
    const ins = axes === 'fed' ? [x, g.input('axes', 'int64', [1])] : [x];
    const y = g.op(op, ins, { keepdims: 0, ...attrs }, { out: [{ dtype: 'float32', shape: [] }] });
    return { g, x, loss: y };
  };
  for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax']) {
    it(`${op} noop_with_empty_axes=1 (an empty axes list would be the identity), and axes from a fed input`, () => {
      const a = reduceLoss(op, { noop_with_empty_axes: 1 });
      assert.throws(() => backward(a.g, a.loss, [a.x]), refused('noop_with_empty_axes', op));
      const b = reduceLoss(op, {}, 'fed');
      assert.throws(() => backward(b.g, b.loss, [b.x]), refused('axes', op));
    });
  }
  it('BatchNormalization spatial=0 and Clip with min/max attributes (old opsets)', () => {
    const bn = { name: 'bn', op: 'BatchNormalization', domain: '', inputs: [], outputs: [], attrs: { spatial: { type: 'int' as const, value: 0 } } };
    assert.throws(() => checkGradAttrs(bn), refused('spatial', 'BatchNormalization'));
    const clip = { name: 'clip', op: 'Clip', domain: '', inputs: [], outputs: [], attrs: { min: { type: 'float' as const, value: 0 } } };
    assert.throws(() => checkGradAttrs(clip), refused('min', 'Clip'));
    assert.doesNotThrow(() => checkGradAttrs({ ...bn, attrs: { spatial: { type: 'int' as const, value: 1 } } }));
  });
  it('Slice with steps other than 1', () => {
    const g = new GraphBuilder('attr_slice');
    const x = g.input('x', 'float32', [6]);
    const y = g.op('Slice', [x, g.ints([0]), g.ints([6]), g.ints([0]), g.ints([2])], {}, { out: [{ dtype: 'float32', shape: [3] }] });
    const loss = g.op('ReduceSum', [y], { keepdims: 0 });
    assert.throws(() => backward(g, loss, [x]), /node '.*' \(Slice\): steps=\[2\] is not supported/);
  });
  it('Slice with starts or axes computed at run time', () => {
    for (const which of ['starts', 'axes'] as const) {
      const g = new GraphBuilder('attr_slice_fed');
      const x = g.input('x', 'float32', [6]);
      const fed = g.input('fed', 'int64', [1]);
      const ins = which === 'starts' ? [x, fed, g.ints([6])] : [x, g.ints([0]), g.ints([6]), fed];
      const y = g.op('Slice', ins, {}, { out: [{ dtype: 'float32', shape: [6] }] });
      assert.throws(() => backward(g, g.op('ReduceSum', [y], { keepdims: 0 }), [x]), refused(which, 'Slice'));
    }
  });
});
