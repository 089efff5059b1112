/**
 * Shared by the whole-net reference tests (test/engine/reference*.test.ts, test/students): the
 * engine's gradients of a network as one graph, and the error measure they are judged by.
 */
import { type GradOptions, backward } from '../../src/autodiff/walker.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type Graph, type TensorData, type Value, tensor } from '../../src/graph/ir.js';
import { prune } from '../../src/graph/prune.js';
import type { ForwardCtx } from '../../src/nn/module.js';
import { buildLoss } from '../../src/nn/losses.js';
import type { Network } from '../../src/train/network.js';
import type { Rng } from '../../src/util/rng.js';

/** max_i |a_i − b_i| / max_i |b_i| (relative to the tensor's scale; absolute when b is all zeros). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

/**
 * Forward (training mode) + hard loss + backward, parameters and buffers as inputs: outputs
 * 'loss', 'grad:<param>' for every parameter and 'stat:<buffer>' for every updated buffer (BN
 * running statistics after this batch).
 */
export function gradientGraph(net: Network, grad?: GradOptions): Graph {
  const g = new GraphBuilder('grads');
  const x = g.input('input', 'float32', ['N', ...net.spec.inputShape]);
  const params: Value[] = [];
  const stats = new Map<string, Value>();
  const ctx: ForwardCtx = {
    g,
    training: true,
    param: (s) => {
      const v = g.input(s.name, 'float32', s.dims);
      params.push(v);
      return v;
    },
    buffer: (s) => g.input(s.name, 'float32', s.dims),
    setBuffer: (name, v) => stats.set(name, v),
    dropoutMask: (name, rest) => g.input(`mask/${name}`, 'float32', ['N', ...rest]),
  };
  const logits = net.module.forward(ctx, x, net.spec.inputShape);
  const { loss } = buildLoss(g, 'hard', logits, net.spec.classes);
  const grads = backward(g, loss, params, { grad });
  for (const p of params) g.output(grads.get(p.name)!, `grad:${p.name}`);
  for (const [k, v] of stats) g.output(v, `stat:${k}`);
  g.output(loss, 'loss');
  return prune(g.build());
}

/**
 * Feeds for gradientGraph(net): a batch of B random images with random labels (one-hot targets)
 * from `rng`, and the network's parameters and buffers. For a mobilenet the BN scales are set to
 * 4 first: that puts activations past ReLU6's 6; with none there the loss is invariant to a BN
 * scale ahead of a depthwise conv and BN, and that gradient, zero in exact arithmetic, is
 * rounding noise that no two formulations share.
 */
export function gradientFeeds(net: Network, rng: Rng, B: number): Record<string, TensorData> {
  const shape = net.spec.inputShape;
  const C = net.spec.classes;
  const D = shape.reduce((a, b) => a * b, 1);
  const labels = Array.from({ length: B }, () => rng.int(C));
  const targets = new Float32Array(B * C);
  labels.forEach((y, i) => (targets[i * C + y] = 1));
  const feeds: Record<string, TensorData> = {
    input: tensor('float32', [B, ...shape], Float32Array.from({ length: B * D }, () => rng.float())),
    labels: tensor('int64', [B], BigInt64Array.from(labels, BigInt)),
    targets: tensor('float32', [B, C], targets),
  };
  if (net.spec.spec.startsWith('mobilenet')) for (const p of net.paramSpecs) if (p.name.endsWith('.bn.weight')) net.params.get(p.name)!.fill(4);
  for (const p of net.paramSpecs) feeds[p.name] = tensor('float32', p.dims, net.params.get(p.name)!);
  for (const b of net.bufferSpecs) feeds[b.name] = tensor('float32', b.dims, net.buffers.get(b.name)!);
  return feeds;
}
