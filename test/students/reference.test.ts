/**
 * ONNX students exported by PyTorch (test/fixtures/students/make.py: a small ResNet with BatchNorm
 * and a depthwise-separable block, and a LeNet-style net whose MaxPools come without their Indices
 * output, both exported with TrainingMode.TRAINING) against PyTorch itself in float64 on the same
 * weights and batch: the loss and every gradient at the start, then the weights and the BN running
 * statistics after 3 plain SGD steps (lr 0.1) — to 1e-4 relative per tensor
 * (max |engine − ref| / max |ref|).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { gradientGraph, relErr } from '../helpers/grads.js';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { Runner } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, trainNetwork } from '../../src/train/trainer.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/students/', import.meta.url));
const TOL = 1e-4;

interface Reference {
  x: number[];
  y: number[];
  lr: number;
  steps: number;
  losses: number[];
  grad0: Record<string, number[]>;
  weights3: Record<string, number[]>;
  buffers3: Record<string, number[]>;
}
/** PyTorch names (the net's own) → the export's initializer names (the net sits inside a Softmax wrapper). */
const onnxName = (k: string) => `net.${k}`;

for (const [model, refFile] of [
  ['resnet-train.onnx', 'reference.json'],
  ['lenet-train.onnx', 'lenet-reference.json'],
] as const) {
  const ref = JSON.parse(readFileSync(FIX + refFile, 'utf8')) as Reference;
  const load = () => Network.fromStudentFile(new Uint8Array(readFileSync(FIX + model)), model);
  const N = ref.y.length;
  const data = () => ({ x: Float32Array.from(ref.x), y: Int32Array.from(ref.y), n: N, shape: [1, 28, 28], classes: 10, source: refFile });

  describe(`an ONNX student exported by PyTorch (${model}) vs PyTorch in float64`, () => {
    it('the loss and every parameter gradient at the start', async () => {
      const net = load();
      const r = await Runner.create(gradientGraph(net), { threads: 1 });
      const targets = new Float32Array(N * 10);
      ref.y.forEach((y, i) => (targets[i * 10 + y] = 1));
      const feeds: Record<string, TensorData> = { input: tensor('float32', [N, 1, 28, 28], Float32Array.from(ref.x)), targets: tensor('float32', [N, 10], targets) };
      for (const s of net.paramSpecs) feeds[s.name] = tensor('float32', s.dims, net.params.get(s.name)!);
      for (const s of net.bufferSpecs) feeds[s.name] = tensor('float32', s.dims, net.buffers.get(s.name)!);
      const out = await r.run(feeds);
      await r.release();
      const l = (out.loss.data as Float32Array)[0];
      assert.ok(Math.abs(l - ref.losses[0]) / ref.losses[0] <= TOL, `loss ${l} vs PyTorch ${ref.losses[0]}`);
      assert.equal(Object.keys(ref.grad0).length, net.paramSpecs.length, 'every PyTorch parameter is a parameter of the imported student, and no more');
      for (const [k, want] of Object.entries(ref.grad0)) {
        const got = out[`grad:${onnxName(k)}`];
        assert.ok(got, `no gradient for ${onnxName(k)}`);
        assert.ok(want.some((v) => v !== 0), `${k}: the reference gradient is all zero (weak test)`);
        const e = relErr(got.data as Float32Array, want);
        assert.ok(e <= TOL, `gradient of ${k}: relative error ${e.toExponential(2)}`);
      }
    });

    it('the weights and BN running statistics after 3 SGD steps', async () => {
      const net = load();
      const res = await trainNetwork(
        net,
        data(),
        { ...DEFAULT_TRAIN, loss: 'hard', epochs: ref.steps, batch: N, lr: ref.lr, schedule: { kind: 'constant' }, optim: { ...DEFAULT_OPTIM, kind: 'sgd', momentum: 0 } },
        { runtime: { threads: 1 }, stepsPerRun: 1, onLog: () => {} },
      );
      res.history.forEach((h, t) => assert.ok(Math.abs(h.loss - ref.losses[t]) / ref.losses[t] <= TOL, `step ${t + 1}: loss ${h.loss} vs PyTorch ${ref.losses[t]}`));
      for (const [k, want] of Object.entries(ref.weights3)) {
        const e = relErr(net.params.get(onnxName(k))!, want);
        assert.ok(e <= TOL, `weight ${k} after ${ref.steps} steps: relative error ${e.toExponential(2)}`);
      }
      assert.equal(Object.keys(ref.buffers3).length, net.bufferSpecs.length);
      for (const [k, want] of Object.entries(ref.buffers3)) {
        const e = relErr(net.buffers.get(onnxName(k))!, want);
        assert.ok(e <= TOL, `BN statistic ${k} after ${ref.steps} steps: relative error ${e.toExponential(2)}`);
      }
    });
  });
}
