/**
 * The alternative gradient formulations (autodiff GradOptions: the Conv input gradient as a Conv,
 * the Conv weight gradient one Gemm per kernel offset — im2col by kernel rows where that measured
 * faster —, the BatchNorm gradient through per-channel factors, Relu/Clip as gy·mask, MaxPool's
 * arg-max found again without Indices, and the defaults as they stand) give the same gradients as the
 * formulations they replace, on whole networks of the bench's model
 * specs (issue 18): every parameter's gradient and every BN statistic to 1e-5 relative
 * (test/helpers/grads.ts relErr). Each form is also checked against finite differences op by op
 * in rules.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GradOptions } from '../../src/autodiff/index.js';
import type { TensorData } from '../../src/graph/ir.js';
import { Runner, nativeSessions } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { Rng } from '../../src/util/rng.js';
import { gradientFeeds, gradientGraph, relErr } from '../helpers/grads.js';

const PREVIOUS: GradOptions = { convInputGrad: 'convtranspose', convWeightGrad: 'conv', batchNormGrad: 'plain', maskGrad: 'where', maxPoolGrad: 'indices' };
const ALTERNATIVE: GradOptions = { convInputGrad: 'conv', convWeightGrad: 'offsets', batchNormGrad: 'fused', maskGrad: 'mul', maxPoolGrad: 'phases' };
/** The native kernels' forms (graph/native-ops.ts), where this process has them (runtime/native.ts). */
const NATIVE: GradOptions = { convInputGrad: 'native', convWeightGrad: 'native', maxPoolGrad: 'native', batchNormGrad: 'native', maskGrad: 'native', globalPoolGrad: 'native' };
const TOL = 1e-5;

const MODELS = [
  { spec: 'cnn:8,16:32', inputShape: [1, 28, 28] },
  { spec: 'cnn:4,8@3', inputShape: [1, 12, 12] },
  { spec: 'resnet:4,8', inputShape: [3, 16, 16] },
  { spec: 'mobilenet:4,8,16', inputShape: [3, 16, 16] },
  // 16 and more input channels: where the 'offsets' weight gradient applies
  { spec: 'cnn:16,32:32', inputShape: [1, 16, 16] },
  { spec: 'resnet:16,32', inputShape: [3, 12, 12] },
];

async function gradients(net: Network, grad: GradOptions, feeds: Record<string, TensorData>): Promise<Record<string, Float32Array>> {
  const r = await Runner.create(gradientGraph(net, grad), { threads: 1 });
  try {
    const out = await r.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await r.release();
  }
}

describe('gradient formulations agree (GradOptions)', () => {
  for (const m of MODELS) {
    it(`${m.spec} on [${m.inputShape}]: every gradient within ${TOL} relative`, async () => {
      const net = Network.create({ spec: m.spec, inputShape: m.inputShape, classes: 10, options: {} }, 7);
      const feeds = gradientFeeds(net, new Rng(11), 6);
      const a = await gradients(net, PREVIOUS, feeds);
      const forms: [string, GradOptions][] = [['alternative', ALTERNATIVE], ['defaults', {}]];
      if (nativeSessions()) forms.push(['native', NATIVE]);
      for (const [tag, opts] of forms) {
        const b = await gradients(net, opts, feeds);
        assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
        const grads = Object.keys(a).filter((k) => k.startsWith('grad:'));
        assert.equal(grads.length, net.paramSpecs.length);
        for (const k of Object.keys(a)) {
          const e = relErr(b[k], a[k]);
          assert.ok(e <= TOL, `${m.spec} ${k} (${tag}): relative difference ${e.toExponential(2)} > ${TOL}`);
          // a gradient that is all zeros would agree trivially: each must carry signal
          if (k.startsWith('grad:')) assert.ok(a[k].some((v) => v !== 0), `${k} is all zeros`);
        }
      }
    });
  }
});
