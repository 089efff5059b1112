/**
 * Convolutions in onnxruntime's NCHWc layout (src/graph/nchwc.ts, used by Runner.create where the
 * backend has the kernels; issue 18): which Convs the pass rewrites, and that the rewritten graph
 * computes what the plain one does — single Convs of every shape the zoo uses (ungrouped and
 * depthwise), then whole networks' gradients (forward and input-gradient convolutions both
 * rewritten) to 1e-5 relative.
 * Where onnxruntime has no NCHWc kernels (not x86 with AVX2/AVX-512) the runtime tests say so and
 * skip; the pass's own tests always run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type Graph, type TensorData, tensor } from '../../src/graph/ir.js';
import { NCHWC_DOMAIN, lowerConvsToNchwc } from '../../src/graph/nchwc.js';
import { Runner, nchwcBlockSize } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { Rng } from '../../src/util/rng.js';
import { gradientFeeds, gradientGraph, relErr } from '../helpers/grads.js';

interface ConvCase {
  name: string;
  cin: number;
  cout: number;
  k: number[];
  hw: number[];
  attrs?: Record<string, number | number[]>;
  bias?: boolean;
  /** The weight as an initializer instead of an input. */
  constWeight?: boolean;
}

function convGraph(c: ConvCase, rng: Rng): { graph: Graph; feeds: Record<string, TensorData> } {
  const g = new GraphBuilder('conv');
  const x = g.input('x', 'float32', ['N', c.cin, ...c.hw]);
  const wDims = [c.cout, c.attrs?.group ? c.cin / (c.attrs.group as number) : c.cin, ...c.k];
  const wData = Float32Array.from({ length: wDims.reduce((a, b) => a * b, 1) }, () => rng.float() - 0.5);
  const w = c.constWeight ? g.const(tensor('float32', wDims, wData)) : g.input('w', 'float32', wDims);
  const b = c.bias ? g.input('b', 'float32', [c.cout]) : null;
  g.output(g.op('Conv', b ? [x, w, b] : [x, w], { kernel_shape: c.k, ...c.attrs }), 'y');
  const N = 3;
  const feeds: Record<string, TensorData> = { x: tensor('float32', [N, c.cin, ...c.hw], Float32Array.from({ length: N * c.cin * c.hw[0] * c.hw[1] }, () => rng.float() - 0.5)) };
  if (!c.constWeight) feeds.w = tensor('float32', wDims, wData);
  if (b) feeds.b = tensor('float32', [c.cout], Float32Array.from({ length: c.cout }, () => rng.float() - 0.5));
  return { graph: g.build(), feeds };
}

const rewritten = (g: Graph) => g.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.op === 'Conv').length;

const ELIGIBLE: ConvCase[] = [
  { name: '5×5, pads 2, bias (the cnn student)', cin: 32, cout: 64, k: [5, 5], hw: [14, 14], attrs: { pads: [2, 2, 2, 2] }, bias: true },
  { name: '3×3, pads 1, no bias (resnet)', cin: 16, cout: 32, k: [3, 3], hw: [9, 11], attrs: { pads: [1, 1, 1, 1] } },
  { name: '3×3, stride 2', cin: 32, cout: 16, k: [3, 3], hw: [12, 12], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: '5×5, the input gradient form (pads k−1−p, asymmetric)', cin: 64, cout: 32, k: [5, 5], hw: [10, 10], attrs: { pads: [4, 3, 2, 4] } },
  { name: '3×2 kernel, no pads', cin: 16, cout: 16, k: [3, 2], hw: [7, 8] },
  { name: 'depthwise 3×3, pads 1 (mobilenet)', cin: 32, cout: 32, k: [3, 3], hw: [10, 10], attrs: { group: 32, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise 3×3, stride 2', cin: 16, cout: 16, k: [3, 3], hw: [9, 9], attrs: { group: 16, pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 'depthwise 3×3, the input gradient form (flipped, pads k−1−p, asymmetric)', cin: 16, cout: 16, k: [3, 3], hw: [8, 8], attrs: { group: 16, pads: [2, 1, 0, 2] } },
];
const INELIGIBLE: ConvCase[] = [
  { name: '1×1', cin: 32, cout: 32, k: [1, 1], hw: [8, 8] },
  { name: 'channels not a multiple of the block', cin: 3, cout: 16, k: [3, 3], hw: [8, 8], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'grouped', cin: 32, cout: 32, k: [3, 3], hw: [8, 8], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: 'depthwise with a channel multiplier (16 → 32, group 16)', cin: 16, cout: 32, k: [3, 3], hw: [8, 8], attrs: { group: 16, pads: [1, 1, 1, 1] } },
  { name: 'weight is an initializer (onnxruntime rewrites these itself)', cin: 16, cout: 16, k: [3, 3], hw: [8, 8], constWeight: true },
];

describe('lowerConvsToNchwc: which Convs it rewrites', () => {
  for (const block of [8, 16]) {
    it(`block ${block}: every eligible Conv, none of the others, and the input graph untouched`, () => {
      for (const c of ELIGIBLE) {
        const { graph } = convGraph(c, new Rng(1));
        const before = JSON.stringify(graph.nodes);
        const low = lowerConvsToNchwc(graph, block);
        assert.equal(rewritten(low), 1, c.name);
        assert.equal(low.nodes.filter((n) => n.op === 'Conv' && n.domain === '').length, 0, `${c.name}: the plain Conv is gone`);
        assert.equal(JSON.stringify(graph.nodes), before, `${c.name}: the input graph was changed`);
        // its output keeps its name, produced by the ReorderOutput
        assert.equal(low.nodes.find((n) => n.outputs.includes('y'))?.op, 'ReorderOutput');
      }
      for (const c of INELIGIBLE) {
        const { graph } = convGraph(c, new Rng(1));
        assert.equal(lowerConvsToNchwc(graph, block), graph, c.name);
      }
    });
  }
  it('refuses a block size below 2', () => {
    const { graph } = convGraph(ELIGIBLE[0], new Rng(1));
    assert.throws(() => lowerConvsToNchwc(graph, 1), /block size 1, expected an integer ≥ 2/);
  });
});

describe('NCHWc Convs compute what plain Convs do (onnxruntime)', async () => {
  const block = await nchwcBlockSize();
  const why = block ? false : 'this onnxruntime has no com.microsoft.nchwc kernels (not x86 with AVX2/AVX-512): nothing to compare';

  it('the block size is 8 (AVX2) or 16 (AVX-512)', { skip: why }, () => {
    assert.ok(block === 8 || block === 16, `block ${block}`);
  });

  for (const c of ELIGIBLE) {
    it(`${c.name}: within 1e-5 relative`, { skip: why }, async () => {
      const { graph, feeds } = convGraph(c, new Rng(3));
      assert.equal(rewritten(lowerConvsToNchwc(graph, block)), 1);
      const out: Float32Array[] = [];
      for (const nchwc of [false, true]) {
        const r = await Runner.create(graph, { threads: 1, nchwc, nativeConv: false });
        try {
          out.push((await r.run(feeds)).y.data as Float32Array);
        } finally {
          await r.release();
        }
      }
      assert.ok(out[0].some((v) => v !== 0));
      const e = relErr(out[1], out[0]);
      assert.ok(e <= 1e-5, `relative difference ${e.toExponential(2)}`);
    });
  }

  for (const m of [
    { spec: 'cnn:16,32:32', inputShape: [1, 16, 16] },
    { spec: 'resnet:16,32', inputShape: [3, 16, 16] },
    { spec: 'mobilenet:16,16,32', inputShape: [3, 16, 16] },
  ]) {
    it(`${m.spec}: every gradient within 1e-5 relative, with its forward and input-gradient Convs rewritten`, { skip: why }, async () => {
      const net = Network.create({ spec: m.spec, inputShape: m.inputShape, classes: 10, options: {} }, 5);
      const graph = gradientGraph(net);
      assert.ok(rewritten(lowerConvsToNchwc(graph, block)) >= 2, 'fewer than two Convs rewritten');
      const feeds = gradientFeeds(net, new Rng(9), 5); // (a mobilenet's BN scales set to 4: see gradientFeeds)
      const out: Record<string, TensorData>[] = [];
      for (const nchwc of [false, true]) {
        const r = await Runner.create(graph, { threads: 1, nchwc, nativeConv: false });
        try {
          out.push(await r.run(feeds));
        } finally {
          await r.release();
        }
      }
      assert.deepEqual(Object.keys(out[1]).sort(), Object.keys(out[0]).sort());
      for (const k of Object.keys(out[0])) {
        const [a, b] = [out[0][k].data as Float32Array, out[1][k].data as Float32Array];
        if (k.startsWith('grad:')) assert.ok(a.some((v) => v !== 0), `${k} is all zeros`);
        const e = relErr(b, a);
        assert.ok(e <= 1e-5, `${m.spec} ${k}: relative difference ${e.toExponential(2)}`);
      }
    });
  }
});
