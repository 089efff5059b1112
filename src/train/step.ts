/**
 * The training step as one ONNX graph: forward, loss, backward, optimiser update. Fed: the
 * batch ('input', 'labels', the loss's inputs), dropout masks, 'lr', the state (parameters,
 * buffers, optimiser state); returns the new state plus 'loss' and 'correct'.
 */
import { GraphBuilder } from '../graph/builder.js';
import { type Graph, type TensorData, type Value, tensor } from '../graph/ir.js';
import { canWriteInPlace } from '../graph/inplace.js';
import { prune } from '../graph/prune.js';
import { type GradOptions, backward } from '../autodiff/walker.js';
import type { ForwardCtx } from '../nn/module.js';
import { type OptimConfig, type OptimItem, type OptimResult, type SgdForm, emitOptimizer } from '../optim/optimizers.js';
import type { StateBinding } from '../runtime/session.js';
import { nativeGradForms } from '../runtime/core.js';
import { type LossKind, buildLoss } from '../nn/losses.js';
import type { MaskSpec, Network } from './network.js';

export interface StepGraph {
  graph: Graph;
  bindings: StateBinding[];
  initialState: Map<string, TensorData>;
  masks: MaskSpec[];
  /** Per-step inputs besides state and masks. */
  inputs: string[];
}

export const NEXT = ':next';

/** Variants of the step graph (all compute the same step; they differ in speed). */
export interface StepGraphOptions {
  /** Fold SGD momentum into the weight-gradient Gemm (C = v, beta = μ; torch form). Default false: slower on AVX2. */
  fuse?: boolean;
  /** SGD-momentum form (optimizers.ts): 'history' (default), 'scaled' or 'torch'. */
  sgdForm?: SgdForm;
  /** Update optimiser state in place where safe (graph/inplace.ts). Default true. */
  inPlace?: boolean;
  /** Gradient formulation choices (autodiff GradOptions; default: the measured-faster ones). */
  grad?: GradOptions;
}

/** The forward pass, loss and gradients of a training step, built into `g` (shared by the step and gradient graphs). */
interface ForwardBackward {
  params: Map<string, Value>;
  buffers: Map<string, Value>;
  newBuffers: Map<string, Value>;
  loss: Value;
  correct: Value;
  /** The loss's inputs besides the logits (targets, teacher, alpha, temperature…). */
  lossInputs: string[];
  /** Each parameter with its gradient, in paramSpecs order. */
  items: OptimItem[];
}

function forwardBackward(g: GraphBuilder, net: Network, lossKind: LossKind, grad: GradOptions | undefined): ForwardBackward {
  const x = g.input('input', 'float32', ['N', ...net.spec.inputShape]);
  const labels = g.input('labels', 'int64', ['N']);
  const params = new Map<string, Value>();
  const buffers = new Map<string, Value>();
  const newBuffers = new Map<string, Value>();
  const ctx: ForwardCtx = {
    g,
    training: true,
    param: (s) => {
      const v = g.input(s.name, 'float32', s.dims);
      params.set(s.name, v);
      return v;
    },
    buffer: (s) => {
      const v = g.input(s.name, 'float32', s.dims);
      buffers.set(s.name, v);
      return v;
    },
    setBuffer: (name, v) => newBuffers.set(name, v),
    dropoutMask: (name, rest) => g.input(`mask/${name}`, 'float32', ['N', ...rest]),
  };
  const logits = net.module.forward(ctx, x, net.spec.inputShape);
  const { loss, inputs } = buildLoss(g, lossKind, logits, net.spec.classes);
  const pred = g.op('ArgMax', [logits], { axis: 1, keepdims: 0 });
  const correct = g.reduceSum(g.op('Cast', [g.op('Equal', [pred, labels])], { to: 1 }), [0]);
  const wrt = net.paramSpecs.map((s) => params.get(s.name)!);
  // The native kernels' forms where this process has them (runtime/core.ts); `grad` overrides.
  const grads = backward(g, loss, wrt, { grad: { ...nativeGradForms(), ...grad } });
  const items = net.paramSpecs.map((spec) => {
    const gr = grads.get(spec.name);
    if (!gr) throw new RangeError(`parameter '${spec.name}' does not affect the loss`);
    return { param: params.get(spec.name)!, grad: gr, spec };
  });
  return { params, buffers, newBuffers, loss, correct, lossInputs: inputs, items };
}

/**
 * The state outputs and bindings of an update graph: each parameter's and buffer's next value
 * (a buffer no update touches passes through), and the optimiser's state, carried or updated.
 */
function stateBindings(g: GraphBuilder, net: Network, upd: OptimResult, buffers: Map<string, Value>, newBuffers: Map<string, Value>): { bindings: StateBinding[]; initialState: Map<string, TensorData> } {
  const bindings: StateBinding[] = [];
  const initialState = new Map<string, TensorData>();
  for (const spec of net.paramSpecs) {
    g.output(upd.next.get(spec.name)!, spec.name + NEXT);
    bindings.push({ input: spec.name, output: spec.name + NEXT });
    initialState.set(spec.name, tensor('float32', spec.dims, net.params.get(spec.name)!.slice()));
  }
  for (const b of net.bufferSpecs) {
    g.output(newBuffers.get(b.name) ?? buffers.get(b.name)!, b.name + NEXT);
    bindings.push({ input: b.name, output: b.name + NEXT });
    initialState.set(b.name, tensor('float32', b.dims, net.buffers.get(b.name)!.slice()));
  }
  for (const s of upd.state) {
    if (s.carryFrom) {
      bindings.push({ input: s.name, carryFrom: s.carryFrom });
      initialState.set(s.name, tensor('float32', s.dims, net.params.get(s.carryFrom)!.slice()));
      continue;
    }
    g.output(s.next!, s.name + NEXT);
    bindings.push({ input: s.name, output: s.name + NEXT });
    initialState.set(s.name, tensor('float32', s.dims, new Float32Array(s.dims.reduce((a, b) => a * b, 1))));
  }
  return { bindings, initialState };
}

/** Mark the optimiser-state bindings whose update can be written into the fed buffer. */
function markInPlace(graph: Graph, bindings: StateBinding[], upd: OptimResult): void {
  const optimState = new Set(upd.state.map((s) => s.name));
  for (const b of bindings) if (b.output && optimState.has(b.input) && canWriteInPlace(graph, b.input, b.output)) b.inPlace = true;
}

export function buildStepGraph(net: Network, lossKind: LossKind, optim: OptimConfig, opts: StepGraphOptions = {}): StepGraph {
  const g = new GraphBuilder('train_step');
  const fb = forwardBackward(g, net, lossKind, opts.grad);
  const lr = g.input('lr', 'float32', []);
  const upd = emitOptimizer(g, fb.items, lr, optim, { fuse: opts.fuse ?? false, form: opts.sgdForm });
  const { bindings, initialState } = stateBindings(g, net, upd, fb.buffers, fb.newBuffers);
  g.output(fb.loss, 'loss');
  g.output(fb.correct, 'correct');
  const graph = prune(g.build());
  if (opts.inPlace ?? true) markInPlace(graph, bindings, upd);
  return {
    graph,
    bindings,
    initialState,
    masks: net.maskSpecs,
    inputs: ['input', 'labels', ...fb.lossInputs, 'lr', ...upd.scalars],
  };
}

/** Output name of parameter `name`'s gradient in the gradient graph. */
export const gradName = (name: string): string => `grad/${name}`;

/**
 * The forward pass, loss and backward pass of a step without the update: fed the batch, masks
 * and parameters, it returns each parameter's gradient (`grad/<name>`, of the batch's mean
 * loss) with 'loss' and 'correct'. For data-parallel steps (src/train/replicas.ts) on networks
 * with no buffers: a buffer (BatchNorm's running statistics) is updated from the whole batch's
 * statistics, which shards of it do not have.
 */
export function buildGradGraph(net: Network, lossKind: LossKind, opts: Pick<StepGraphOptions, 'grad'> = {}): { graph: Graph; masks: MaskSpec[] } {
  if (net.bufferSpecs.length) throw new RangeError(`a gradient graph is for networks without buffers; this one has ${net.bufferSpecs.map((b) => `'${b.name}'`).join(', ')}`);
  const g = new GraphBuilder('grad_step');
  const fb = forwardBackward(g, net, lossKind, opts.grad);
  for (const it of fb.items) g.output(it.grad, gradName(it.spec.name));
  g.output(fb.loss, 'loss');
  g.output(fb.correct, 'correct');
  return { graph: prune(g.build()), masks: net.maskSpecs };
}

/** Input name of shard `r`'s gradient of parameter `name` in the update graph, and of its share of the batch. */
export const shardGradName = (name: string, r: number): string => `${gradName(name)}@${r}`;
export const shardShareName = (r: number): string => `share@${r}`;

/**
 * The update of a data-parallel step: fed the state, each shard's gradients and each shard's
 * share of the batch (rows/N, so Σ share·grad is the whole batch's mean-loss gradient), and the
 * optimiser's scalars; returns the new state as the step graph does, with the same bindings.
 */
export function buildUpdateGraph(net: Network, optim: OptimConfig, shards: number, opts: Pick<StepGraphOptions, 'sgdForm' | 'inPlace'> = {}): StepGraph {
  if (net.bufferSpecs.length) throw new RangeError(`an update graph is for networks without buffers; this one has ${net.bufferSpecs.map((b) => `'${b.name}'`).join(', ')}`);
  const g = new GraphBuilder('update_step');
  const shares = Array.from({ length: shards }, (_, r) => g.input(shardShareName(r), 'float32', []));
  const items: OptimItem[] = net.paramSpecs.map((spec) => {
    const param = g.input(spec.name, 'float32', spec.dims);
    let grad: Value | null = null;
    for (let r = 0; r < shards; r++) {
      const part = g.mul(g.input(shardGradName(spec.name, r), 'float32', spec.dims), shares[r]);
      grad = grad ? g.add(grad, part) : part;
    }
    return { param, grad: grad!, spec };
  });
  const lr = g.input('lr', 'float32', []);
  const upd = emitOptimizer(g, items, lr, optim, { fuse: false, form: opts.sgdForm });
  const { bindings, initialState } = stateBindings(g, net, upd, new Map(), new Map());
  const graph = prune(g.build());
  if (opts.inPlace ?? true) markInPlace(graph, bindings, upd);
  return { graph, bindings, initialState, masks: [], inputs: ['lr', ...upd.scalars, ...shares.map((v) => v.name)] };
}

/** Copy the step's current state back into the network's parameter and buffer arrays. */
export function syncNetwork(net: Network, state: ReadonlyMap<string, TensorData>): void {
  for (const [k, v] of net.params) v.set(state.get(k)!.data as Float32Array);
  for (const [k, v] of net.buffers) v.set(state.get(k)!.data as Float32Array);
}
