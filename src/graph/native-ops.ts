/**
 * dark-knowledge's own operators (ONNX domain 'dk.native', version 1): the convolution and
 * pooling gradients of training graphs, run by native kernels (native/src: oneDNN for the
 * convolutions, a loop for the pooling) inside onnxruntime through its custom-op API. Only the
 * Node runtime has them, and only where the addon was built (runtime/native.ts); graphs that use
 * them are training steps, never a model written for others (an exported student is a forward
 * graph of standard ops). All take and give float32 in NCHW; the convolutions and pooling are
 * 2-D only.
 *
 *   ConvGradW(X [N, C, H, W], G [N, M, Ho, Wo]) → dW [M, C/group, kh, kw]
 *     dW[m, c, a, e] = Σ_(n, y) G[n, m, y] · X[n, (m's group, c), y·s + (a, e) − p_begin]
 *   ConvGradX(G [N, M, Ho, Wo], W [M, C/group, kh, kw], X) → dX, shaped as X (X is read for its
 *     shape only): the transposed convolution of G with W, the gradient of Conv with respect to X
 *   MaxPoolGrad(X [N, C, H, W], G [N, C, Ho, Wo]) → dX shaped as X: each output cell's gradient
 *     added at its window's first maximum of X (row-major within the window; pads never win) —
 *     the element MaxPool's Indices output names
 *   BatchNormGrad(X [N, C, …], G shaped as X, scale [C]) → (dX, dScale [C], dBias [C]): the gradient
 *     of training-mode BatchNormalization (batch statistics, biased variance, attribute epsilon,
 *     default 1e-5), its μ and σ² computed again from X
 *   BatchNormTrain(X, scale, bias, mean, var) → (Y, running mean, running var): training-mode
 *     BatchNormalization as onnxruntime computes it (batch μ and biased σ²; mean·momentum +
 *     μ·(1 − momentum), var·momentum + σ²·(1 − momentum); attributes epsilon, momentum) —
 *     put in place of onnxruntime's by lowerToNative below, not by the gradient rules; with
 *     clip_min (and clip_max) it also applies the Relu / Clip that follows (y clamped; a NaN y
 *     gives clip_min, where onnxruntime's Relu would keep the NaN)
 *   Conv(X, W[, B]) → Y: ONNX's Conv, 2-D, explicit pads (oneDNN's forward); likewise put in
 *     place of onnxruntime's by lowerToNative, where the weight is fed at run time
 *   GlobalAveragePoolGrad(G [N, C, 1, …], X) → dX shaped as X: G[n, c] / |spatial| in every cell
 *     (X read for its shape only)
 *   ReluGrad(Y, G shaped as Y) → G·[Y > 0] (Y: the Relu's output)
 *   ClipGrad(X, G shaped as X, min, max) → G·[min < X < max] (min, max: one value each)
 *
 * Attributes, as the forward op's: kernel_shape [kh, kw], strides [sh, sw] (default 1),
 * pads [top, left, bottom, right] (default 0); the convolutions also group (default 1); float32
 * in, float32 out.
 */
import type { Graph, Node } from './ir.js';

export const NATIVE_DOMAIN = 'dk.native';

/** Whether `g` has a node only the native kernels run. */
export function usesNativeOps(g: Graph): boolean {
  return g.nodes.some((n) => n.domain === NATIVE_DOMAIN);
}

/**
 * `g` with its training-mode float32 BatchNormalizations (a training step's) run by
 * BatchNormTrain: one pass for the statistics and one for y (measured faster than
 * onnxruntime's, bench/README.md), and with `conv`, its 2-D float32 Convs whose weight is not an
 * initializer by the native Conv (but 1×1 ones at stride 1, faster in onnxruntime); the same values to float rounding. Other nodes are kept; `g`
 * itself is not changed.
 */
export function lowerToNative(g: Graph, o: { conv?: boolean } = {}): Graph {
  let changed = false;
  const nodes: Node[] = g.nodes.map((n) => {
    if (o.conv && n.op === 'Conv' && (n.domain === '' || n.domain === 'ai.onnx')) {
      const X = g.values.get(n.inputs[0]);
      const W = g.values.get(n.inputs[1]);
      const a = n.attrs;
      const plain = !a.auto_pad || (a.auto_pad.type === 'string' && a.auto_pad.value === 'NOTSET');
      const undilated = !a.dilations || (a.dilations.type === 'ints' && a.dilations.value.every((d) => d === 1));
      // 1×1 at stride 1 is a plain GEMM in onnxruntime (no layout change): faster there (mobilenet ~2.5%)
      const strides = a.strides && a.strides.type === 'ints' ? a.strides.value : [1, 1];
      const pointwise = W?.shape[2] === 1 && W?.shape[3] === 1 && strides.every((st) => st === 1);
      if (X && W && X.dtype === 'float32' && X.shape.length === 4 && W.shape.length === 4 && !g.initializers.has(n.inputs[1]) && plain && undilated && !pointwise) {
        changed = true;
        const k = W.shape.slice(2) as number[];
        const attrs: Node['attrs'] = { kernel_shape: { type: 'ints', value: k }, strides: a.strides ?? { type: 'ints', value: [1, 1] }, pads: a.pads ?? { type: 'ints', value: [0, 0, 0, 0] } };
        if (a.group) attrs.group = a.group;
        return { ...n, op: 'Conv', domain: NATIVE_DOMAIN, attrs };
      }
    }
    const training = n.attrs.training_mode && n.attrs.training_mode.type === 'int' && n.attrs.training_mode.value === 1;
    const X = g.values.get(n.inputs[0]);
    // (ONNX's training mode has all three outputs)
    if (n.op !== 'BatchNormalization' || (n.domain !== '' && n.domain !== 'ai.onnx') || !training || !X || X.dtype !== 'float32' || X.shape.length < 2 || n.inputs.length !== 5 || n.outputs.length !== 3) return n;
    changed = true;
    const attrs: Node['attrs'] = {};
    if (n.attrs.epsilon) attrs.epsilon = n.attrs.epsilon;
    if (n.attrs.momentum) attrs.momentum = n.attrs.momentum;
    return { ...n, op: 'BatchNormTrain', domain: NATIVE_DOMAIN, attrs };
  });
  return changed ? fuseActivations({ ...g, nodes }) : g;
}

/** A float32 scalar initializer's value, if `name` is one. */
function scalarOf(g: Graph, name: string | undefined): number | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t && t.dtype === 'float32' && t.data.length === 1 ? Number(t.data[0]) : undefined;
}

/**
 * BatchNormTrain followed by a Relu or a Clip with constant bounds lo < hi, where nothing else
 * reads the normalised y but ClipGrad nodes of that Clip: one BatchNormTrain with clip_min /
 * clip_max that writes the activation z directly (one pass over the tensor fewer). The
 * ClipGrads then read z, which gives them the same mask: lo < y < hi exactly where lo < z < hi.
 */
function fuseActivations(g: Graph): Graph {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const drop = new Set<Node>();
  const replace = new Map<Node, Node>();
  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormTrain' || bn.domain !== NATIVE_DOMAIN) continue;
    const y = bn.outputs[0];
    if (outputs.has(y)) continue;
    const rs = readers.get(y) ?? [];
    const acts = rs.filter((r) => (r.op === 'Relu' || r.op === 'Clip') && r.domain === '' && r.inputs[0] === y);
    if (acts.length !== 1) continue;
    const act = acts[0];
    let lo = 0;
    let hi: number | undefined;
    if (act.op === 'Clip') {
      [lo, hi] = [scalarOf(g, act.inputs[1]) as number, scalarOf(g, act.inputs[2]) as number];
      if (lo === undefined || hi === undefined || !(lo < hi)) continue;
    }
    const grads = rs.filter((r) => r !== act);
    const sameBounds = (r: Node) => scalarOf(g, r.inputs[2]) === lo && scalarOf(g, r.inputs[3]) === hi;
    if (!grads.every((r) => act.op === 'Clip' && r.op === 'ClipGrad' && r.domain === NATIVE_DOMAIN && r.inputs[0] === y && !r.inputs.slice(1).includes(y) && sameBounds(r))) continue;
    const z = act.outputs[0];
    const attrs: Node['attrs'] = { ...bn.attrs, clip_min: { type: 'float', value: lo } };
    if (hi !== undefined) attrs.clip_max = { type: 'float', value: hi };
    replace.set(bn, { ...bn, outputs: [z, ...bn.outputs.slice(1)], attrs });
    for (const r of grads) replace.set(r, { ...r, inputs: [z, ...r.inputs.slice(1)] });
    drop.add(act);
  }
  if (!drop.size) return g;
  const values = new Map(g.values);
  for (const a of drop) values.delete(a.inputs[0]);
  return { ...g, values, nodes: g.nodes.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n) };
}
