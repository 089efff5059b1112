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
import { type OptimConfig, type SgdForm, emitOptimizer } from '../optim/optimizers.js';
import type { StateBinding } from '../runtime/session.js';
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

export function buildStepGraph(net: Network, lossKind: LossKind, optim: OptimConfig, opts: StepGraphOptions = {}): StepGraph {
  const g = new GraphBuilder('train_step');
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
  const lr = g.input('lr', 'float32', []);
  const pred = g.op('ArgMax', [logits], { axis: 1, keepdims: 0 });
  const correct = g.reduceSum(g.op('Cast', [g.op('Equal', [pred, labels])], { to: 1 }), [0]);

  const wrt = net.paramSpecs.map((s) => params.get(s.name)!);
  const grads = backward(g, loss, wrt, { grad: opts.grad });
  const items = net.paramSpecs.map((spec) => {
    const grad = grads.get(spec.name);
    if (!grad) throw new RangeError(`parameter '${spec.name}' does not affect the loss`);
    return { param: params.get(spec.name)!, grad, spec };
  });
  const upd = emitOptimizer(g, items, lr, optim, { fuse: opts.fuse ?? false, form: opts.sgdForm });

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
  g.output(loss, 'loss');
  g.output(correct, 'correct');
  const graph = prune(g.build());
  if (opts.inPlace ?? true) {
    const optimState = new Set(upd.state.map((s) => s.name));
    for (const b of bindings) if (b.output && optimState.has(b.input) && canWriteInPlace(graph, b.input, b.output)) b.inPlace = true;
  }
  return {
    graph,
    bindings,
    initialState,
    masks: net.maskSpecs,
    inputs: ['input', 'labels', ...inputs, 'lr', ...upd.scalars],
  };
}

/** Copy the step's current state back into the network's parameter and buffer arrays. */
export function syncNetwork(net: Network, state: ReadonlyMap<string, TensorData>): void {
  for (const [k, v] of net.params) v.set(state.get(k)!.data as Float32Array);
  for (const [k, v] of net.buffers) v.set(state.get(k)!.data as Float32Array);
}
