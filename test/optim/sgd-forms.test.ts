/**
 * The emitted forms of SGD with momentum compute the same update: the literal PyTorch formula
 * ('torch': v' = μv + d, w' = w − lr·v'), the scaled-velocity form ('scaled': u = −lr_prev·v,
 * u' = μ·(lr/lr_prev)·u − lr·d, w' = w + u') and the default heavy-ball form ('history': u is
 * w − w_prev, the previous weights carried by the runner), under an lr that changes every step,
 * with and without Nesterov and weight decay. (The default form is checked against a float64
 * reference in test/engine/reference.test.ts.) Also: a step at lr = 0 leaves the weights alone;
 * in-place state updates and preallocated vs returned outputs change nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { DEFAULT_OPTIM, type OptimConfig } from '../../src/optim/optimizers.js';
import { Runner, StepRunner } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { type StepGraphOptions, buildStepGraph } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';

const N = 6;
const LRS = [0.1, 0.05, 0.2, 0.01, 0.1, 0.3, 0.07, 0.02];

function batches(n: number): Record<string, TensorData>[] {
  const rng = new Rng(3);
  return Array.from({ length: n }, () => {
    const labels = Array.from({ length: N }, () => rng.int(4));
    const t = new Float32Array(N * 4);
    labels.forEach((y, i) => (t[i * 4 + y] = 1));
    return {
      input: tensor('float32', [N, 12], Float32Array.from({ length: N * 12 }, () => rng.normal())),
      labels: tensor('int64', [N], BigInt64Array.from(labels, (v) => BigInt(v))),
      targets: tensor('float32', [N, 4], t),
    };
  });
}

/** Weights after each step. */
async function run(optim: OptimConfig, opts: StepGraphOptions, lrs: number[], preallocate = true): Promise<Map<string, Float32Array>[]> {
  const net = Network.create({ spec: 'mlp:7,5', inputShape: [12], classes: 4, options: {} }, 11);
  const sg = buildStepGraph(net, 'hard', optim, opts);
  const runner = await Runner.create(sg.graph, { threads: 1 });
  const stepper = new StepRunner(runner, sg.bindings, sg.initialState, { preallocate });
  const bs = batches(lrs.length);
  const out: Map<string, Float32Array>[] = [];
  try {
    for (let t = 0; t < lrs.length; t++) {
      await stepper.step({ ...bs[t], lr: tensor('float32', [], [lrs[t]]) });
      out.push(new Map(net.paramSpecs.map((s) => [s.name, (stepper.state.get(s.name)!.data as Float32Array).slice()])));
    }
  } finally {
    await runner.release();
  }
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

const SGD: OptimConfig = { ...DEFAULT_OPTIM, kind: 'sgd', momentum: 0.9 };

describe('SGD momentum: scaled-velocity and heavy-ball forms = PyTorch form', () => {
  for (const [what, optim] of [
    ['plain momentum', SGD],
    ['momentum + weight decay', { ...SGD, weightDecay: 0.01 }],
    ['Nesterov + weight decay', { ...SGD, nesterov: true, weightDecay: 0.01 }],
  ] as const) {
    it(`${what}, lr changing every step`, async () => {
      const a = await run(optim, { sgdForm: 'torch' }, LRS);
      for (const form of ['scaled', 'history'] as const) {
        const b = await run(optim, { sgdForm: form }, LRS);
        for (let t = 0; t < LRS.length; t++) {
          for (const [k, w] of a[t]) assert.ok(relErr(b[t].get(k)!, w) <= 1e-5, `${form} step ${t + 1} ${k}: ${relErr(b[t].get(k)!, w)}`);
        }
      }
    });
  }

  it('the default (history) form keeps the previous weights, no velocity, and outputs only the weights', () => {
    const net = Network.create({ spec: 'mlp:7,5', inputShape: [12], classes: 4, options: {} }, 11);
    const sg = buildStepGraph(net, 'hard', SGD);
    for (const p of net.paramSpecs) assert.ok(sg.bindings.some((b) => b.input === `${p.name}.prev` && b.carryFrom === p.name));
    assert.ok(!sg.bindings.some((b) => b.input.endsWith('.velocity')));
    assert.equal(sg.graph.outputs.filter((o) => o.name.endsWith(':next')).length, net.paramSpecs.length + 1); // + lr_prev
    // with Nesterov or max-norm the velocity is kept (scaled form)
    for (const o of [{ ...SGD, nesterov: true }, { ...SGD, maxNorm: 2 }]) {
      assert.ok(buildStepGraph(net, 'hard', o).bindings.some((b) => b.input.endsWith('.velocity')));
    }
  });

  it('the scaled form uses a velocity state and scales the small gradient, not dW', () => {
    const net = Network.create({ spec: 'mlp:7,5', inputShape: [12], classes: 4, options: {} }, 11);
    const sg = buildStepGraph(net, 'hard', SGD, { sgdForm: 'scaled' });
    assert.ok(sg.bindings.some((b) => b.input === 'fc1.weight.velocity'));
    assert.ok(sg.bindings.some((b) => b.input === 'optim.lr_prev'));
    // no Mul node takes a weight-gradient Gemm's output
    const gemmOuts = new Set(sg.graph.nodes.filter((n) => n.op === 'Gemm' && n.attrs.transA).map((n) => n.outputs[0]));
    assert.ok(gemmOuts.size > 0);
    assert.ok(!sg.graph.nodes.some((n) => n.op === 'Mul' && n.inputs.some((i) => gemmOuts.has(i))));
  });

  it('in-place optimiser state gives bit-identical weights to double-buffered state', async () => {
    for (const form of ['torch', 'scaled'] as const) {
      const a = await run(SGD, { sgdForm: form, inPlace: false }, LRS);
      const b = await run(SGD, { sgdForm: form, inPlace: true }, LRS);
      for (let t = 0; t < LRS.length; t++) for (const [k, w] of a[t]) assert.deepEqual(b[t].get(k), w, `${form} step ${t + 1} ${k}`);
    }
    const net = Network.create({ spec: 'mlp:7,5', inputShape: [12], classes: 4, options: {} }, 11);
    const sg = buildStepGraph(net, 'hard', SGD, { sgdForm: 'scaled' });
    assert.deepEqual(
      sg.bindings.filter((b) => b.inPlace).map((b) => b.input),
      net.paramSpecs.map((p) => `${p.name}.velocity`),
      'exactly the velocities are updated in place (weights and lr_prev are read after their update is computed)',
    );
  });

  it('preallocated and returned outputs give bit-identical weights (with carried state)', async () => {
    for (const form of ['history', 'scaled'] as const) {
      const a = await run(SGD, { sgdForm: form }, LRS, true);
      const b = await run(SGD, { sgdForm: form }, LRS, false);
      for (let t = 0; t < LRS.length; t++) for (const [k, w] of a[t]) assert.deepEqual(b[t].get(k), w, `${form} step ${t + 1} ${k}`);
    }
  });

  it('a step at lr = 0 leaves the weights unchanged', async () => {
    const lrs = [0.1, 0.2, 0, 0.1];
    for (const form of ['torch', 'scaled', 'history'] as const) {
      const w = await run(SGD, { sgdForm: form }, lrs);
      for (const [k, v] of w[1]) assert.deepEqual(w[2].get(k), v, `${form} ${k}`);
    }
  });
});
