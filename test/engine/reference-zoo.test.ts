/**
 * Reference test for the zoo students: a small `resnet:` (identity and projection shortcuts,
 * stride 2 onto an odd size) and a small `mobilenet:` (depthwise convolutions, ReLU6), both with
 * BatchNorm in training mode. The engine's float32 ONNX graphs — the loss, every parameter
 * gradient, the BatchNorm running statistics, and the weights and statistics after 3 SGD-momentum
 * steps — must match the independent plain-JS float64 implementation in reference-zoo.ts.
 *
 * Error measure, per tensor: max_i |engine_i − ref_i| / max_i |ref_i|; the bound is 1e-4.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { DEFAULT_OPTIM, type OptimConfig } from '../../src/optim/optimizers.js';
import { Runner, StepRunner } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { buildStepGraph } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';
import { type Params, RefOptimizer } from './reference-impl.js';
import { Tape, type T, mobilenetRef, resnetRef } from './reference-zoo.js';
import { gradientGraph, relErr } from '../helpers/grads.js';

const TOL = 1e-4;
const STEPS = 3;
const N = 6;
const SHAPE = [2, 7, 7];
const CLASSES = 3;
const RT = { threads: 1 };


const worst: Record<string, number> = {};
function check(kind: string, what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  const e = relErr(got, want);
  worst[kind] = Math.max(worst[kind] ?? 0, e);
  assert.ok(e <= TOL, `${what}: relative error ${e.toExponential(2)} > ${TOL}`);
}
after(() => {
  const rows = Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(2)}`);
  console.log(`# max relative errors, zoo students (engine float32 vs plain-JS float64): ${rows.join('; ')}`);
});

interface Case {
  name: string;
  spec: string;
  ref(t: Tape, x: T): T;
}
const CASES: Case[] = [
  { name: 'resnet:4,6 (identity and projection shortcuts, 7×7 → 4×4)', spec: 'resnet:4,6', ref: (t, x) => resnetRef(t, x, [4, 6], 1, CLASSES) },
  { name: 'resnet:3,3:2 (two blocks per stage; projection for stride alone)', spec: 'resnet:3,3:2', ref: (t, x) => resnetRef(t, x, [3, 3], 2, CLASSES) },
  { name: 'mobilenet:4,8,8 (depthwise stride 2 then 1, ReLU6)', spec: 'mobilenet:4,8,8', ref: (t, x) => mobilenetRef(t, x, [4, 8, 8], CLASSES) },
];

/** A network whose BatchNorm scales/shifts, output bias and running statistics are all non-trivial. */
function prepared(spec: string): Network {
  const net = Network.create({ spec, inputShape: SHAPE, classes: CLASSES, options: {} }, 21);
  const rng = new Rng(99);
  for (const [name, v] of net.params) {
    if (name.endsWith('.bn.weight')) for (let i = 0; i < v.length; i++) v[i] = 1 + 0.3 * rng.normal();
    else if (name.endsWith('.bias')) for (let i = 0; i < v.length; i++) v[i] = 0.2 * rng.normal();
  }
  for (const [name, v] of net.buffers) for (let i = 0; i < v.length; i++) v[i] = name.endsWith('running_var') ? 0.5 + rng.float() : 0.3 * rng.normal();
  return net;
}

interface Batch {
  x: Float32Array;
  labels: Int32Array;
}
function batches(seed: number, n: number): Batch[] {
  const rng = new Rng(seed);
  const per = SHAPE.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => ({
    x: Float32Array.from({ length: N * per }, () => rng.float()),
    labels: Int32Array.from({ length: N }, () => rng.int(CLASSES)),
  }));
}

const copy = (m: Map<string, Float32Array>): Params => new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));

function feedsFor(b: Batch): Record<string, TensorData> {
  const t = new Float32Array(N * CLASSES);
  b.labels.forEach((y, i) => (t[i * CLASSES + y] = 1));
  return {
    input: tensor('float32', [N, ...SHAPE], b.x),
    labels: tensor('int64', [N], BigInt64Array.from(b.labels, (v) => BigInt(v))),
    targets: tensor('float32', [N, CLASSES], t),
  };
}


function reference(c: Case, P: Params, R: Params, b: Batch): { loss: number; grads: Params } {
  const t = new Tape(P, R);
  const z = c.ref(t, t.input([N, ...SHAPE], b.x));
  const loss = t.lossAndBackward(z, b.labels);
  return { loss, grads: t.grads };
}

const SGD: OptimConfig = { ...DEFAULT_OPTIM, kind: 'sgd', momentum: 0.9 };

for (const c of CASES) {
  describe(`reference: ${c.name}`, () => {
    it('loss, every parameter gradient and the updated BatchNorm statistics match the float64 reference', async () => {
      const net = prepared(c.spec);
      const [b] = batches(5, 1);
      const r = await Runner.create(gradientGraph(net), RT);
      const feeds: Record<string, TensorData> = { input: feedsFor(b).input, targets: feedsFor(b).targets };
      for (const s of net.paramSpecs) feeds[s.name] = tensor('float32', s.dims, net.params.get(s.name)!);
      for (const s of net.bufferSpecs) feeds[s.name] = tensor('float32', s.dims, net.buffers.get(s.name)!);
      const out = await r.run(feeds);
      await r.release();
      const R = copy(net.buffers);
      const ref = reference(c, copy(net.params), R, b);
      check('loss', `${c.spec} loss`, out.loss.data as Float32Array, [ref.loss]);
      assert.equal(ref.grads.size, net.paramSpecs.length, 'the reference and the engine have different parameters');
      for (const s of net.paramSpecs) {
        const want = ref.grads.get(s.name);
        assert.ok(want, `the reference has no parameter ${s.name}`);
        assert.ok(want.some((v) => v !== 0), `${s.name}: reference gradient is all zero (weak test)`);
        assert.deepEqual(out[`grad:${s.name}`].dims, s.dims, `${s.name}: gradient dims`);
        check('gradient', `${c.spec} gradient of ${s.name}`, out[`grad:${s.name}`].data as Float32Array, want);
      }
      assert.ok(net.bufferSpecs.length > 0);
      for (const s of net.bufferSpecs) check('running statistics', `${c.spec} ${s.name}`, out[`stat:${s.name}`].data as Float32Array, R.get(s.name)!);
    });

    it(`${STEPS} SGD-momentum steps (lr 0.1, μ 0.9): loss, weights and running statistics after each step match`, async () => {
      const net = prepared(c.spec);
      const bs = batches(17, STEPS);
      const sg = buildStepGraph(net, 'hard', SGD);
      const runner = await Runner.create(sg.graph, RT);
      const stepper = new StepRunner(runner, sg.bindings, sg.initialState);
      const P = copy(net.params);
      const P0 = copy(net.params);
      const R = copy(net.buffers);
      const ro = new RefOptimizer({ ...SGD, lr: 0.1 }, new Map(net.paramSpecs.map((s) => [s.name, s.dims])));
      try {
        for (let t = 0; t < STEPS; t++) {
          const feeds = { ...feedsFor(bs[t]), lr: tensor('float32', [], [0.1]) };
          const out = await stepper.step(feeds, { loss: { dtype: 'float32', dims: [] } });
          const ref = reference(c, P, R, bs[t]);
          check('loss', `${c.spec} step ${t + 1} loss`, out.loss.data as Float32Array, [ref.loss]);
          ro.step(P, ref.grads);
          for (const s of net.paramSpecs) {
            const got = stepper.state.get(s.name)!.data as Float32Array;
            check('weights after steps', `${c.spec} step ${t + 1}: ${s.name}`, got, P.get(s.name)!);
            const w0 = P0.get(s.name)!;
            check(
              'cumulative update',
              `${c.spec} step ${t + 1}: update of ${s.name}`,
              got.map((v, i) => v - w0[i]),
              P.get(s.name)!.map((v, i) => v - w0[i]),
            );
          }
          for (const s of net.bufferSpecs) check('running statistics', `${c.spec} step ${t + 1}: ${s.name}`, stepper.state.get(s.name)!.data as Float32Array, R.get(s.name)!);
        }
      } finally {
        await runner.release();
      }
    });
  });
}
