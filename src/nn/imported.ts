/**
 * Students given as ONNX files (bring your own architecture: a PyTorch or Keras export). The
 * file's graph is the forward pass and its float initializers are the parameters, starting from
 * the values in the file. The graph is re-emitted node by node into the step graph, except for:
 *   - BatchNormalization (inference or training form): trains in training mode, its running mean
 *     and variance (inputs 3 and 4) are buffers updated every step with the node's momentum. The
 *     running variance is updated as the exporting framework does: with the unbiased batch
 *     variance (× n/(n−1), n = values per channel) for PyTorch exports, with the biased one (the
 *     ONNX definition, and Keras') otherwise;
 *   - Dropout: a mask fed from the seeded dropout stream in training, the identity otherwise;
 *   - a final Softmax / LogSoftmax: training and evaluation use the logits before it (the saved
 *     file keeps it, see Network.toOnnx).
 * Float initializers that are not parameters stay constants: scalars (e.g. HardSwish's 3 and 6)
 * and operands no gradient reaches (Clip bounds, Dropout ratio, Pow exponents, Pad values).
 */
import type { GraphBuilder } from '../graph/builder.js';
import { type Graph, type Node, type TensorData, type Value, numel, tensor } from '../graph/ir.js';
import { UsageError } from '../util/errors.js';
import type { BufferSpec, ForwardCtx, Module, ParamSpec } from './module.js';

/** Operand positions that are never trained (the op's gradient rule gives them none). */
const CONSTANT_OPERANDS: Readonly<Record<string, readonly number[]>> = {
  Clip: [1, 2],
  Dropout: [1, 2],
  Pow: [1],
  Pad: [1, 2, 3],
  Reshape: [1],
  Expand: [1],
  Slice: [1, 2, 3, 4],
  Resize: [1, 2, 3],
  Where: [0],
};

/** Names the step graph uses for its own inputs: a student value may not take them. */
const RESERVED = new Set(['input', 'labels', 'targets', 'teacher', 'alpha', 'temperature', 'lr', 'adam_correction', 'loss', 'correct', 'logits']);

export interface ImportedGraph {
  /** The file as given (the saved student is this file with new initializer values). */
  bytes: Uint8Array;
  /** Where it came from, for messages. */
  source: string;
  graph: Graph;
  /** The graph's data input and output (names in the file). */
  inputName: string;
  outputName: string;
  /** The value training uses as logits: the output, or the input of a final Softmax/LogSoftmax. */
  logitsName: string;
  finalSoftmax: 'Softmax' | 'LogSoftmax' | null;
  inputShape: number[];
  classes: number;
  params: ParamSpec[];
  buffers: BufferSpec[];
  /** Counts for the log line. */
  batchNorms: number;
  dropouts: number;
  /** Running variances updated with the unbiased batch variance (PyTorch's convention). */
  unbiasedRunningVar: boolean;
}

const fmt = (s: readonly (number | string)[]) => `[${s.join(',')}]`;

/** Read an ONNX student: its input/output, parameters, buffers, and a final softmax if any. */
export function importStudent(bytes: Uint8Array, graph: Graph, source: string): ImportedGraph {
  const bad = (why: string) => new UsageError(`${source}: ${why}`);
  const foreign = graph.nodes.find((n) => n.domain !== '' && n.domain !== 'ai.onnx');
  if (foreign) throw bad(`node '${foreign.name}' is in domain '${foreign.domain}'; a student must use standard ONNX ops only`);
  if (graph.inputs.length !== 1) throw bad(`a student must take exactly one input (besides its initializers); this one takes ${graph.inputs.length} (${graph.inputs.map((v) => v.name).join(', ') || 'none'})`);
  if (graph.outputs.length !== 1) throw bad(`a student must have exactly one output; this one has ${graph.outputs.length} (${graph.outputs.map((v) => v.name).join(', ')})`);
  const inp = graph.inputs[0];
  const outV = graph.outputs[0];
  if (inp.dtype !== 'float32') throw bad(`input '${inp.name}' is ${inp.dtype}; a student takes float32 input`);
  const rest = inp.shape.slice(1);
  if (inp.shape.length < 2 || !rest.every((d): d is number => typeof d === 'number')) {
    throw bad(`input '${inp.name}' has shape ${fmt(inp.shape)}; a student needs a batch axis and a fixed per-example shape (e.g. [N,1,28,28])`);
  }
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const y of n.outputs) if (y) producer.set(y, n);
  const last = producer.get(outV.name);
  let finalSoftmax: ImportedGraph['finalSoftmax'] = null;
  let logitsName = outV.name;
  if (last && (last.op === 'Softmax' || last.op === 'LogSoftmax')) {
    const axis = last.attrs.axis?.type === 'int' ? last.attrs.axis.value : graph.opset >= 13 ? -1 : 1;
    if (axis === 1 || axis === -1) {
      finalSoftmax = last.op;
      logitsName = last.inputs[0];
    }
  }
  const classesDim = outV.shape[1];
  if (outV.shape.length !== 2) throw bad(`output '${outV.name}' has shape ${fmt(outV.shape)}; a student outputs [N, classes]`);

  // Which float initializers are parameters, buffers (BN running statistics) or constants.
  const uses = new Map<string, { node: Node; k: number }[]>();
  for (const n of graph.nodes) n.inputs.forEach((x, k) => x && uses.set(x, [...(uses.get(x) ?? []), { node: n, k }]));
  const params: ParamSpec[] = [];
  const buffers: BufferSpec[] = [];
  for (const [name, t] of graph.initializers) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
    const u = uses.get(name) ?? [];
    if (u.length === 0) continue;
    if (RESERVED.has(name)) throw bad(`initializer '${name}' has a name the training step uses for its own inputs; rename it in the export`);
    const bnStat = u.some(({ node, k }) => node.op === 'BatchNormalization' && (k === 3 || k === 4));
    if (bnStat) {
      if (!u.every(({ node, k }) => node.op === 'BatchNormalization' && (k === 3 || k === 4))) throw bad(`initializer '${name}' is a BatchNormalization running statistic and also used elsewhere`);
      if (t.dtype !== 'float32') throw bad(`initializer '${name}' is ${t.dtype}; a student's weights must be float32`);
      buffers.push({ name, dims: [...t.dims], init: 'zeros' });
      continue;
    }
    const constant = numel(t.dims) <= 1 || u.some(({ node, k }) => CONSTANT_OPERANDS[node.op]?.includes(k));
    if (constant) continue;
    if (t.dtype !== 'float32') throw bad(`initializer '${name}' is ${t.dtype}; a student's weights must be float32`);
    const fanIn = t.dims.length >= 2 ? numel(t.dims.slice(1)) : numel(t.dims);
    params.push({ name, dims: [...t.dims], init: 'zeros', fanIn, fanOut: t.dims[0] ?? 1, decay: t.dims.length >= 2 });
  }
  if (params.length === 0) throw bad('the graph has no float initializers to train (no parameters)');
  const classes = typeof classesDim === 'number' ? classesDim : NaN;
  if (!Number.isInteger(classes) || classes < 2) throw bad(`output '${outV.name}' has shape ${fmt(outV.shape)}; the class count must be fixed in the file`);
  return {
    bytes,
    source,
    graph,
    inputName: inp.name,
    outputName: outV.name,
    logitsName,
    finalSoftmax,
    inputShape: rest,
    classes,
    params,
    buffers,
    batchNorms: graph.nodes.filter((n) => n.op === 'BatchNormalization').length,
    dropouts: graph.nodes.filter((n) => n.op === 'Dropout').length,
    unbiasedRunningVar: graph.producer === 'pytorch',
  };
}

/**
 * PyTorch's running statistics: m·rm + (1−m)·μ and m·rv + (1−m)·v·n/(n−1) — the unbiased batch
 * variance, with μ, v the batch mean and (biased) variance over every axis but the channel axis
 * and n the values per channel (the batch size read at run time).
 */
function pytorchRunningStats(g: GraphBuilder, x: Value, rm: Value, rv: Value, momentum: number): [Value, Value] {
  const axes = [0, ...Array.from({ length: x.shape.length - 2 }, (_, i) => i + 2)];
  const mu = g.reduceMean(x, axes, true);
  const xc = g.sub(x, mu);
  const v = g.reduceMean(g.mul(xc, xc), axes, false);
  const shape = g.op('Shape', [x]);
  let n: Value | null = null;
  let fixed = 1;
  for (const a of axes) {
    const d = x.shape[a];
    if (typeof d === 'number') fixed *= d;
    else {
      const dim = g.op('Cast', [g.op('Gather', [shape, g.const(tensor('int64', [], [a]), 'axis')], { axis: 0 })], { to: 1 });
      n = n ? g.mul(n, dim) : dim;
    }
  }
  const count = n ? g.mul(n, g.s(n, fixed)) : g.scalar(fixed);
  const bessel = g.div(count, g.sub(count, g.scalar(1)));
  const ema = (old: Value, batch: Value) => g.add(g.mul(old, g.s(old, momentum)), g.mul(batch, g.s(batch, 1 - momentum)));
  return [ema(rm, g.reshape(mu, [-1])), ema(rv, g.mul(v, bessel))];
}

/** Constant node → its tensor (the value* attribute forms of Constant). */
function constantValue(n: Node): TensorData {
  const a = n.attrs;
  if (a.value?.type === 'tensor') return a.value.value;
  if (a.value_float?.type === 'float') return tensor('float32', [], [a.value_float.value]);
  if (a.value_floats?.type === 'floats') return tensor('float32', [a.value_floats.value.length], a.value_floats.value);
  if (a.value_int?.type === 'int') return tensor('int64', [], [a.value_int.value]);
  if (a.value_ints?.type === 'ints') return tensor('int64', [a.value_ints.value.length], a.value_ints.value);
  throw new RangeError(`Constant node '${n.name}': unsupported value attribute (${Object.keys(a).join(', ')})`);
}

export class ImportedModule implements Module {
  readonly kind = 'onnx';
  constructor(readonly imported: ImportedGraph) {}

  outShape(): number[] {
    return [this.imported.classes];
  }

  describe(): string {
    const im = this.imported;
    return `ONNX student ${im.source}: ${im.graph.nodes.length} nodes, ${im.params.length} parameter tensors${im.batchNorms ? `, ${im.batchNorms} BatchNormalization` : ''}${im.dropouts ? `, ${im.dropouts} Dropout` : ''}${im.finalSoftmax ? `, trained on the logits before its final ${im.finalSoftmax}` : ''}`;
  }

  forward(ctx: ForwardCtx, x: Value): Value {
    const im = this.imported;
    const { g } = ctx;
    const env = new Map<string, Value>();
    env.set(im.inputName, x);
    const params = new Map(im.params.map((p) => [p.name, p]));
    const buffers = new Map(im.buffers.map((b) => [b.name, b]));
    return g.scope('student', () => {
      for (const [name, t] of im.graph.initializers) {
        const p = params.get(name);
        const b = buffers.get(name);
        env.set(name, p ? ctx.param(p) : b ? ctx.buffer(b) : g.const(t, 'c'));
      }
      const value = (n: Node, name: string): Value | null => {
        if (!name) return null;
        const v = env.get(name);
        if (!v) throw new UsageError(`${im.source}: node '${n.name}' (${n.op}) reads '${name}', which no earlier node or initializer defines (the nodes must be in topological order)`);
        return v;
      };
      for (const n of im.graph.nodes) {
        if (n.outputs[0] === im.outputName && im.finalSoftmax) continue;
        const ins = n.inputs.map((name) => value(n, name));
        try {
          this.emit(ctx, n, ins).forEach((v, i) => n.outputs[i] && env.set(n.outputs[i], v));
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError(`${im.source}: node '${n.name}' (${n.op}): ${(e as Error).message.split('\n')[0]}`);
        }
      }
      const logits = env.get(im.logitsName);
      if (!logits) throw new UsageError(`${im.source}: no node computes the output '${im.logitsName}'`);
      return logits;
    });
  }

  private emit(ctx: ForwardCtx, n: Node, ins: (Value | null)[]): Value[] {
    const { g } = ctx;
    switch (n.op) {
      case 'Constant':
        return [g.const(constantValue(n), 'c')];
      case 'Identity':
        return [ins[0]!];
      case 'Dropout':
        return [this.dropout(ctx, n, ins)];
      case 'BatchNormalization':
        return this.batchNorm(ctx, n, ins);
      default:
        // The file's node name, so that errors (e.g. a node without a gradient rule) name it.
        return g.opN(n.op, ins, n.outputs.length, n.attrs, { nodeName: n.name });
    }
  }

  private dropout(ctx: ForwardCtx, n: Node, ins: (Value | null)[]): Value {
    const x = ins[0]!;
    if (n.outputs[1]) throw new RangeError('its mask output is used by the graph; a student Dropout may only have its first output used');
    const ratioT = ctx.g.constOf(ins[1]);
    if (ins[1] && !ratioT) throw new RangeError('its ratio is computed at run time; a student Dropout needs a constant ratio');
    const p = ratioT ? Number(ratioT.data[0]) : n.attrs.ratio?.type === 'float' ? n.attrs.ratio.value : 0.5;
    const rest = x.shape.slice(1);
    if (!rest.every((d): d is number => typeof d === 'number')) throw new RangeError(`its input has shape [${x.shape}]; the mask needs a fixed per-example shape`);
    if (!(p > 0)) return x;
    const mask = ctx.dropoutMask(n.name, rest, p);
    return mask ? ctx.g.mul(x, mask) : x;
  }

  private batchNorm(ctx: ForwardCtx, n: Node, ins: (Value | null)[]): Value[] {
    const { g } = ctx;
    if (n.outputs.slice(1).some(Boolean) && this.usedOutputs(n)) throw new RangeError('its running-statistics outputs are used by the graph; only the first output may be');
    const eps = n.attrs.epsilon?.type === 'float' ? n.attrs.epsilon.value : 1e-5;
    const momentum = n.attrs.momentum?.type === 'float' ? n.attrs.momentum.value : 0.9;
    const [x, scale, bias, mean, variance] = ins as Value[];
    if (!ctx.training) return [g.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { type: 'float', value: eps } })];
    const attrs = { epsilon: { type: 'float' as const, value: eps }, momentum: { type: 'float' as const, value: momentum }, training_mode: 1 };
    if (this.imported.unbiasedRunningVar) {
      // The node normalises with the batch statistics; it is fed stand-ins for the running ones
      // (onnxruntime may write its running outputs over its inputs), which are updated here.
      const C = scale.shape[0] as number;
      const [y] = g.opN('BatchNormalization', [x, scale, bias, g.const(tensor('float32', [C], new Float32Array(C)), 'bn_mean'), g.const(tensor('float32', [C], new Float32Array(C).fill(1)), 'bn_var')], 3, attrs);
      const [rm, rv] = pytorchRunningStats(g, x, mean, variance, momentum);
      ctx.setBuffer(mean.name, rm);
      ctx.setBuffer(variance.name, rv);
      return [y];
    }
    const [y, rm, rv] = g.opN('BatchNormalization', [x, scale, bias, mean, variance], 3, attrs);
    ctx.setBuffer(mean.name, rm);
    ctx.setBuffer(variance.name, rv);
    return [y];
  }

  /** Whether any node or graph output reads one of n's outputs after the first. */
  private usedOutputs(n: Node): boolean {
    const later = new Set(n.outputs.slice(1).filter(Boolean));
    return this.imported.graph.nodes.some((m) => m.inputs.some((x) => later.has(x))) || this.imported.graph.outputs.some((o) => later.has(o.name));
  }
}
