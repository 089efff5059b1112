/**
 * Convolutions in onnxruntime's blocked channel layout (NCHWc), for graphs whose Conv weights are
 * fed at run time (training steps). onnxruntime's own NCHWc transformer rewrites a Conv only when
 * its weight is a constant initializer, so it never fires on a step graph; this pass does the
 * same rewrite by hand, reordering the filter inside the graph:
 *
 *   Y = Conv(X, W, B)   →   Y = ReorderOutput(nchwc.Conv(ReorderInput(X), reorder(W), B))
 *
 * where reorder(W) is W [M, C, kh, kw] laid out as [M/b, C/b, kh, kw, b (input), b (output)]
 * ("OIHWBiBo", the layout the transformer writes for a blocked input; checked against it), or
 * for a depthwise Conv W [C, 1, kh, kw] as [C/b, 1, kh, kw, b] ("OIHWBo"), by a
 * Reshape–Transpose–Reshape, and b is MLAS's block size on this CPU (16 with AVX-512, 8 with
 * AVX2; onnxruntime registers the com.microsoft.nchwc ops only where it is above 1 — see
 * runtime/core.ts, which asks the backend before using this pass).
 *
 * Rewritten: 2-D float32 Convs, ungrouped or depthwise (group = input = output channels), with a
 * kernel larger than 1×1, explicit pads (no
 * auto_pad), static channel counts that are multiples of b, and a weight that is not an
 * initializer. The result is the same
 * convolution computed by MLAS's direct NCHWc kernels instead of im2col + GEMM (bench/README.md:
 * measured faster on the forward and input-gradient convolutions of the zoo's students); it
 * differs from the plain Conv in rounding only (summation order).
 */
import { type Graph, type Node, type TensorData, type Value, tensor } from './ir.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Whether `n` is a Conv this pass rewrites at block size `block`. */
function eligible(g: Graph, n: Node, block: number): { X: Value; M: number; C: number; k: number[]; depthwise: boolean } | null {
  if (n.op !== 'Conv' || (n.domain !== '' && n.domain !== 'ai.onnx')) return null;
  const X = g.values.get(n.inputs[0]);
  const W = g.values.get(n.inputs[1]);
  if (!X || !W || X.dtype !== 'float32' || W.dtype !== 'float32' || X.shape.length !== 4 || W.shape.length !== 4) return null;
  if (g.initializers.has(n.inputs[1])) return null; // onnxruntime's own transformer does these
  if (!W.shape.every((d) => typeof d === 'number')) return null;
  const [M, Cg, kh, kw] = W.shape as number[];
  const a = n.attrs;
  const group = a.group && a.group.type === 'int' ? a.group.value : 1;
  // Ungrouped, or depthwise (one input and one output channel per group).
  const depthwise = group > 1 && Cg === 1 && M === group && X.shape[1] === group;
  if (group !== 1 && !depthwise) return null;
  const C = depthwise ? M : Cg;
  if (X.shape[1] !== C || M % block !== 0 || C % block !== 0) return null;
  if (kh * kw === 1) return null; // a 1×1 Conv is one GEMM already; the reorders around it cost more than it gains (mobilenet: measured)
  if (a.auto_pad && !(a.auto_pad.type === 'string' && a.auto_pad.value === 'NOTSET')) return null;
  return { X, M, C, k: [kh, kw], depthwise };
}

/** `g` with every eligible Conv rewritten to NCHWc at block size `block` (a new graph; `g` is unchanged). */
export function lowerConvsToNchwc(g: Graph, block: number): Graph {
  if (!Number.isInteger(block) || block < 2) throw new RangeError(`lowerConvsToNchwc: block size ${block}, expected an integer ≥ 2`);
  if (!g.nodes.some((n) => eligible(g, n, block))) return g;
  const nodes: Node[] = [];
  const values = new Map(g.values);
  const initializers = new Map<string, TensorData>(g.initializers);
  const taken = new Set<string>([...g.values.keys(), ...g.initializers.keys(), ...g.nodes.map((n) => n.name)]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const ints = (base: string, v: number[]): string => {
    const name = fresh(base);
    initializers.set(name, tensor('int64', [v.length], v));
    values.set(name, { name, dtype: 'int64', shape: [v.length] });
    return name;
  };
  for (const n of g.nodes) {
    const e = eligible(g, n, block);
    if (!e) {
      nodes.push(n);
      continue;
    }
    const { X, M, C, k, depthwise } = e;
    const Y = g.values.get(n.outputs[0])!;
    const p = `${n.name}/nchwc`;
    const val = (base: string, v: Omit<Value, 'name'>): string => {
      const name = fresh(`${p}/${base}`);
      values.set(name, { name, ...v });
      return name;
    };
    const xb = val('x', { dtype: 'float32', shape: [...X.shape] });
    // The filter's blocked layout: [M/b, C/b, kh, kw, b (input), b (output)]; depthwise (one
    // input channel per filter) [M/b, 1, kh, kw, b (output)].
    const split = depthwise ? [M / block, block, 1, ...k] : [M / block, block, C / block, block, ...k];
    const perm = depthwise ? [0, 2, 3, 4, 1] : [0, 2, 4, 5, 3, 1];
    const w6 = val('w6', { dtype: 'float32', shape: split });
    const wt = val('wt', { dtype: 'float32', shape: perm.map((i) => split[i]) });
    const wDims = depthwise ? [M, 1, ...k] : [M, C, ...k];
    const wr = val('w', { dtype: 'float32', shape: wDims });
    const yb = val('y', { dtype: 'float32', shape: [...Y.shape] });
    const attrs = { ...n.attrs };
    if (!depthwise) delete attrs.group;
    delete attrs.auto_pad;
    attrs.kernel_shape = { type: 'ints', value: k };
    nodes.push(
      { name: fresh(`${p}/ReorderInput`), op: 'ReorderInput', domain: NCHWC_DOMAIN, inputs: [X.name], outputs: [xb], attrs: {} },
      { name: fresh(`${p}/Reshape`), op: 'Reshape', domain: '', inputs: [n.inputs[1], ints(`${p}/s6`, split)], outputs: [w6], attrs: {} },
      { name: fresh(`${p}/Transpose`), op: 'Transpose', domain: '', inputs: [w6], outputs: [wt], attrs: { perm: { type: 'ints', value: perm } } },
      { name: fresh(`${p}/Reshape_1`), op: 'Reshape', domain: '', inputs: [wt, ints(`${p}/s4`, wDims)], outputs: [wr], attrs: {} },
      { name: fresh(`${p}/Conv`), op: 'Conv', domain: NCHWC_DOMAIN, inputs: [xb, wr, ...(n.inputs[2] ? [n.inputs[2]] : [])], outputs: [yb], attrs },
      { name: fresh(`${p}/ReorderOutput`), op: 'ReorderOutput', domain: NCHWC_DOMAIN, inputs: [yb], outputs: [n.outputs[0]], attrs: { channels: { type: 'int', value: M } } },
    );
  }
  return { ...g, nodes, values, initializers };
}
