/**
 * llm.c-style reference test: a small MLP (12-7-5-4, ReLU) and a small CNN (1×8×8 → 5×5 conv
 * of 3 channels → 2×2 max-pool → ReLU → Linear to 4), batch 6. The engine's float32 ONNX graphs
 * — the loss, every parameter gradient, and the first 5 optimiser steps — must match the
 * independent plain-JS float64 implementation in reference-impl.ts.
 *
 * Error measure, per tensor: max_i |engine_i − ref_i| / max_i |ref_i| (relative to the tensor's
 * scale, so entries that are nearly zero do not dominate); the bound is 1e-5.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { DEFAULT_OPTIM, type OptimConfig, adamCorrection } from '../../src/optim/optimizers.js';
import { Runner, StepRunner } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { type StepGraphOptions, buildStepGraph } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';
import { type Params, type RefOptim, RefOptimizer, cnnLossGrad, mlpLossGrad } from './reference-impl.js';
import { gradientGraph, relErr } from '../helpers/grads.js';

const TOL = 1e-5;
const STEPS = 5;
const N = 6;
const RT = { threads: 1 };


const worst: Record<string, number> = {};
function record(kind: string, e: number): void {
  worst[kind] = Math.max(worst[kind] ?? 0, e);
}
after(() => {
  const rows = Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(2)}`);
  console.log(`# max relative errors (engine float32 vs plain-JS float64): ${rows.join('; ')}`);
});

interface Batch {
  x: Float32Array;
  labels: Int32Array;
}

interface Case {
  name: string;
  make(): Network;
  batch(rng: Rng): Batch;
  ref(P: Params, x: Float64Array, labels: Int32Array): { loss: number; grads: Params };
}

const mlpCase: Case = {
  name: 'MLP 12-7-5-4',
  make: () => Network.create({ spec: 'mlp:7,5', inputShape: [12], classes: 4, options: {} }, 11),
  batch(rng) {
    const x = new Float32Array(N * 12);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const labels = new Int32Array(N);
    for (let i = 0; i < N; i++) labels[i] = rng.int(4);
    return { x, labels };
  },
  ref: (P, x, labels) => mlpLossGrad(P, [12, 7, 5, 4], x, labels, N),
};

const cnnCase: Case = {
  name: 'CNN 1x8x8 conv5x5(3) pool ReLU Linear(4)',
  make: () => Network.create({ spec: 'cnn:3', inputShape: [1, 8, 8], classes: 4, options: {} }, 12),
  batch(rng) {
    const x = new Float32Array(N * 64);
    for (let i = 0; i < x.length; i++) x[i] = rng.float();
    const labels = new Int32Array(N);
    for (let i = 0; i < N; i++) labels[i] = rng.int(4);
    return { x, labels };
  },
  ref: (P, x, labels) => cnnLossGrad(P, { C: 1, H: 8, W: 8, O: 3, K: 5, classes: 4 }, x, labels, N),
};

/** A network with its zero-initialised biases replaced by random values (so every path is exercised). */
function prepared(c: Case): Network {
  const net = c.make();
  const rng = new Rng(99);
  for (const [name, v] of net.params) if (name.endsWith('.bias')) for (let i = 0; i < v.length; i++) v[i] = 0.1 * rng.normal();
  return net;
}

function batches(c: Case, seed: number, n: number): Batch[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => c.batch(rng));
}

const to64 = (a: ArrayLike<number>) => Float64Array.from(a);
function paramsOf(net: Network): Params {
  return new Map([...net.params].map(([k, v]) => [k, to64(v)]));
}
function oneHot(labels: Int32Array, C: number): Float32Array {
  const t = new Float32Array(labels.length * C);
  labels.forEach((y, i) => (t[i * C + y] = 1));
  return t;
}


function feedsFor(net: Network, b: Batch): Record<string, TensorData> {
  const C = net.spec.classes;
  return {
    input: tensor('float32', [N, ...net.spec.inputShape], b.x),
    labels: tensor('int64', [N], BigInt64Array.from(b.labels, (v) => BigInt(v))),
    targets: tensor('float32', [N, C], oneHot(b.labels, C)),
  };
}

async function checkGradients(c: Case): Promise<void> {
  const net = prepared(c);
  const [b] = batches(c, 5, 1);
  const r = await Runner.create(gradientGraph(net), RT);
  const feeds: Record<string, TensorData> = { input: feedsFor(net, b).input, targets: feedsFor(net, b).targets };
  for (const s of net.paramSpecs) feeds[s.name] = tensor('float32', s.dims, net.params.get(s.name)!);
  const out = await r.run(feeds);
  await r.release();
  const ref = c.ref(paramsOf(net), to64(b.x), b.labels);
  const le = Math.abs((out.loss.data as Float32Array)[0] - ref.loss) / Math.abs(ref.loss);
  record('loss', le);
  assert.ok(le <= TOL, `${c.name}: loss ${(out.loss.data as Float32Array)[0]} vs ${ref.loss} (rel ${le})`);
  assert.equal(ref.grads.size, net.paramSpecs.length);
  for (const s of net.paramSpecs) {
    const got = out[`grad:${s.name}`];
    assert.ok(got, `no gradient output for ${s.name}`);
    assert.deepEqual(got.dims, s.dims, `${s.name}: gradient dims`);
    const want = ref.grads.get(s.name)!;
    assert.ok(want.some((v) => v !== 0), `${s.name}: reference gradient is all zero (weak test)`);
    const e = relErr(got.data as Float32Array, want);
    record('gradient', e);
    assert.ok(e <= TOL, `${c.name}: gradient of ${s.name}: relative error ${e.toExponential(2)}`);
  }
}

const refOptim = (o: OptimConfig, lr: number): RefOptim => ({ ...o, lr });

/** Five steps of the engine's step graph against five steps of the float64 reference. */
async function checkSteps(c: Case, optim: OptimConfig, lrs: number | number[], opts: StepGraphOptions = {}): Promise<void> {
  const lrAt = (t: number) => (typeof lrs === 'number' ? lrs : lrs[t]);
  const net = prepared(c);
  const bs = batches(c, 17, STEPS);
  const fuse = opts.fuse ?? false;
  const sg = buildStepGraph(net, 'hard', optim, opts);
  if (fuse) {
    // The fused form really is used: a Gemm whose C input is a momentum buffer (beta = μ).
    const fused = sg.graph.nodes.filter((n) => n.op === 'Gemm' && n.inputs[2]?.endsWith('.momentum'));
    assert.ok(fused.length > 0, 'no momentum was fused into a Gemm');
  }
  const runner = await Runner.create(sg.graph, RT);
  const stepper = new StepRunner(runner, sg.bindings, sg.initialState);
  const P = paramsOf(net);
  const P0 = paramsOf(net);
  const ro = new RefOptimizer(refOptim(optim, lrAt(0)), new Map(net.paramSpecs.map((s) => [s.name, s.dims])));
  const fetch = { loss: { dtype: 'float32' as const, dims: [] as number[] } };
  try {
    for (let t = 0; t < STEPS; t++) {
      const feeds = feedsFor(net, bs[t]);
      const lr = lrAt(t);
      feeds.lr = tensor('float32', [], [lr]);
      if (optim.kind !== 'sgd') feeds.adam_correction = tensor('float32', [], [adamCorrection(optim, t + 1)]);
      const out = await stepper.step(feeds, fetch);
      const ref = c.ref(P, to64(bs[t].x), bs[t].labels);
      const le = Math.abs((out.loss.data as Float32Array)[0] - ref.loss) / Math.abs(ref.loss);
      record('loss', le);
      assert.ok(le <= TOL, `${c.name} ${optim.kind} step ${t + 1}: loss rel error ${le.toExponential(2)}`);
      ro.step(P, ref.grads, lr);
      for (const s of net.paramSpecs) {
        const got = stepper.state.get(s.name)!.data as Float32Array;
        const want = P.get(s.name)!;
        const e = relErr(got, want);
        record(`weights after steps (${optim.kind})`, e);
        assert.ok(e <= TOL, `${c.name} ${optim.kind} step ${t + 1}: ${s.name} relative error ${e.toExponential(2)}`);
        // The update itself (w_t − w_0), a stricter view than the weights.
        const w0 = P0.get(s.name)!;
        const du = relErr(
          got.map((v, i) => v - w0[i]),
          want.map((v, i) => v - w0[i]),
        );
        record(`cumulative update (${optim.kind})`, du);
        assert.ok(du <= 1e-4, `${c.name} ${optim.kind} step ${t + 1}: update of ${s.name} relative error ${du.toExponential(2)}`);
      }
    }
  } finally {
    await runner.release();
  }
  if (optim.maxNorm > 0) {
    // The constraint must have rescaled some units and left others alone (else the test is weak).
    const { units, clipped } = ro.maxNormCount;
    assert.ok(clipped > 0 && clipped < units, `max-norm rescaled ${clipped} of ${units} unit-steps`);
  }
}

const SGD: OptimConfig = { ...DEFAULT_OPTIM, kind: 'sgd', momentum: 0.9 };
const ADAM: OptimConfig = { ...DEFAULT_OPTIM, kind: 'adam' };
/** Below some initial incoming-weight norms (≈ √2 for He init) and above others. */
const MAXNORM = 1.2;

/** A decaying schedule (as cosine would feed): the SGD forms must track lr changes exactly. */
const DECAY = [0.1, 0.08, 0.05, 0.02, 0.01];

for (const c of [mlpCase, cnnCase]) {
  describe(`reference: ${c.name}`, () => {
    it('loss and every parameter gradient match the float64 reference', async () => {
      await checkGradients(c);
    });
    it('first 5 SGD-momentum steps (lr 0.1, μ 0.9) match (default graph)', async () => {
      await checkSteps(c, SGD, 0.1);
    });
    it('first 5 SGD-momentum steps match in the literal (torch) form, plain and fused into the weight-gradient Gemm', async () => {
      await checkSteps(c, SGD, 0.1, { sgdForm: 'torch' });
      await checkSteps(c, SGD, 0.1, { sgdForm: 'torch', fuse: true });
    });
    it('SGD momentum with a decaying learning rate matches, in every form', async () => {
      await checkSteps(c, SGD, DECAY);
      await checkSteps(c, SGD, DECAY, { sgdForm: 'torch' });
      await checkSteps(c, SGD, DECAY, { sgdForm: 'torch', fuse: true });
    });
    it('first 5 Adam steps (lr 0.01) match', async () => {
      await checkSteps(c, ADAM, 0.01);
    });
    it('first 5 steps of Nesterov SGD with weight decay and max-norm match (constant and decaying lr, both forms)', async () => {
      const o = { ...SGD, nesterov: true, weightDecay: 0.01, maxNorm: MAXNORM };
      await checkSteps(c, o, 0.1);
      await checkSteps(c, o, DECAY);
      await checkSteps(c, o, DECAY, { sgdForm: 'torch' });
    });
  });
}

describe('reference: other optimisers on the MLP', () => {
  it('Adam with L2 weight decay, 5 steps', async () => {
    await checkSteps(mlpCase, { ...ADAM, weightDecay: 0.05 }, 0.01);
  });
  it('AdamW (decoupled decay) with max-norm, 5 steps, decaying lr', async () => {
    await checkSteps(mlpCase, { ...ADAM, kind: 'adamw', weightDecay: 0.05, maxNorm: MAXNORM }, [0.01, 0.008, 0.005, 0.002, 0.001]);
  });
  it('plain SGD (no momentum) with weight decay, 5 steps', async () => {
    await checkSteps(mlpCase, { ...SGD, momentum: 0, weightDecay: 0.01 }, 0.1);
  });
});
