/**
 * Data-parallel training steps (src/train/replicas.ts): the shards' gradients, weighted by their
 * share of the batch and summed by the update graph, make the one-graph step up to float
 * rounding — checked per step against the one-graph step (SGD with the carried previous weights,
 * Adam, dropout masks, uneven and empty shards), over whole trainings against one replica
 * (losses and weights), bitwise against itself (same replica count), across an interrupted and
 * resumed run, and the plan 'auto' makes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { DEFAULT_OPTIM, type OptimConfig } from '../../src/optim/optimizers.js';
import { Runner, StepRunner } from '../../src/runtime/session.js';
import { Network } from '../../src/train/network.js';
import { ReplicatedSteps, replicaPlan } from '../../src/train/replicas.js';
import { buildGradGraph, buildStepGraph } from '../../src/train/step.js';
import { DEFAULT_TRAIN, type TrainConfig, type TrainOptions, fillDropoutMask, trainNetwork } from '../../src/train/trainer.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const CNN = { spec: 'cnn:4,8:16', inputShape: [1, 12, 12], classes: 10, options: { dropout: 0.4 } };

/** Largest |a − b| / (|a| + floor) over two states' shared entries. */
function worstRel(a: ReadonlyMap<string, TensorData>, b: ReadonlyMap<string, TensorData>, floor: number): number {
  let worst = 0;
  for (const [k, v] of a) {
    const w = b.get(k)!.data as Float32Array;
    (v.data as Float32Array).forEach((u, i) => (worst = Math.max(worst, Math.abs(u - w[i]) / (Math.abs(u) + floor))));
  }
  return worst;
}

describe('ReplicatedSteps against the one-graph step', () => {
  // Adam divides each gradient by its running magnitude: a gradient that sums to nearly zero
  // (where the summation order's rounding is large against the sum) moves its weight by up to lr
  // either way, so its states agree to 1e-4 (the losses still to 1e-5).
  const cases: [string, OptimConfig, number[], number, number][] = [
    ['SGD momentum (carried previous weights), max-norm; batches of 33 (shards 16 + 17) and 1 (an empty shard)', { ...DEFAULT_OPTIM, momentum: 0.9, maxNorm: 1.5 }, [33, 33, 1, 33], 2, 1e-5],
    ['Adam, three replicas of a batch of 20', { ...DEFAULT_OPTIM, kind: 'adam', momentum: 0 }, [20, 20, 20], 3, 1e-4],
  ];
  for (const [what, optim, batches, R, tol] of cases) {
    it(`${what}: every step's state within ${tol}, loss within 1e-5, the same correct count`, async () => {
      const net = Network.create(CNN, 7);
      const sg = buildStepGraph(net, 'soft-ce', optim);
      const one = new StepRunner(await Runner.create(sg.graph, { threads: 1 }), sg.bindings, sg.initialState);
      const rep = await ReplicatedSteps.create(net, 'soft-ce', optim, replicaPlan(net, Math.max(...batches), R, R), { threads: 1 });
      try {
        assert.equal(rep.replicas, R);
        assert.deepEqual([...rep.state.keys()].sort(), [...one.state.keys()].sort(), 'the same state names');
        for (const [k, v] of one.state) assert.deepEqual(rep.state.get(k)!.data, v.data, `initial '${k}'`);
        const rng = new Rng(3);
        const mask = sg.masks[0];
        assert.ok(mask, 'the model has a dropout mask');
        for (const [s, B] of batches.entries()) {
          const m = new Float32Array(B * mask.rest.reduce((a, b) => a * b, 1));
          fillDropoutMask(m, m.length, mask.p, rng);
          const feeds: Record<string, TensorData> = {
            input: tensor('float32', [B, 1, 12, 12], Float32Array.from({ length: B * 144 }, () => rng.float())),
            labels: tensor('int64', [B], BigInt64Array.from({ length: B }, () => BigInt(rng.int(10)))),
            targets: tensor('float32', [B, 10]),
            teacher: tensor('float32', [B, 10], Float32Array.from({ length: B * 10 }, () => 6 * rng.float() - 3)),
            alpha: tensor('float32', [], [0.7]),
            temperature: tensor('float32', [], [3]),
            lr: tensor('float32', [], [0.05]),
            [`mask/${mask.name}`]: tensor('float32', [B, ...mask.rest], m),
          };
          if (optim.kind !== 'sgd') feeds.adam_correction = tensor('float32', [], [Math.sqrt(1 - 0.999 ** (s + 1)) / (1 - 0.9 ** (s + 1))]);
          const a = await one.step(feeds, { loss: { dtype: 'float32', dims: [] }, correct: { dtype: 'float32', dims: [] } });
          const [b] = await rep.run([{ feeds, lr: 0.05 }]);
          const la = (a.loss.data as Float32Array)[0];
          assert.ok(Math.abs(la - b.loss) <= 1e-5 * Math.abs(la), `step ${s}: loss ${b.loss} vs ${la}`);
          assert.equal(b.correct, (a.correct.data as Float32Array)[0], `step ${s}: correct`);
          const w = worstRel(one.state, rep.state, 1e-3);
          assert.ok(w <= tol, `step ${s}: state differs by ${w.toExponential(2)} (relative, floor 1e-3)`);
        }
      } finally {
        await rep.release();
        await one.runner.release();
      }
    });
  }

  it('runs one step at a time and needs ≥ 2 replicas', async () => {
    const net = Network.create(CNN, 7);
    await assert.rejects(() => ReplicatedSteps.create(net, 'hard', DEFAULT_OPTIM, { replicas: 1, threadsPerReplica: 1, reason: '' }), /≥ 2 replicas/);
    const rep = await ReplicatedSteps.create(net, 'hard', DEFAULT_OPTIM, { replicas: 2, threadsPerReplica: 1, reason: '' });
    try {
      await assert.rejects(() => rep.run([]), /one step at a time, got 0/);
    } finally {
      await rep.release();
    }
  });

  it('the gradient graph refuses a network with buffers (BatchNorm)', () => {
    const bn = Network.create({ ...CNN, options: { batchNorm: true } }, 1);
    assert.ok(bn.bufferSpecs.length > 0);
    assert.throws(() => buildGradGraph(bn, 'hard'), /a gradient graph is for networks without buffers; this one has '/);
  });
});

describe('replicaPlan', () => {
  const cnn = Network.create(CNN, 1);
  const mlp = Network.create({ spec: 'mlp:16', inputShape: [144], classes: 10, options: {} }, 1);
  const bn = Network.create({ spec: 'resnet:4,8', inputShape: [1, 12, 12], classes: 10, options: {} }, 1);

  it("'auto': one replica per thread for a conv network without buffers, while shards keep ≥ 32 rows", () => {
    // (without the native kernels: with them one session uses the threads better)
    assert.deepEqual([replicaPlan(cnn, 128, 'auto', 2, false).replicas, replicaPlan(cnn, 128, 'auto', 2, false).threadsPerReplica], [2, 1]);
    assert.equal(replicaPlan(cnn, 128, 'auto', 8, false).replicas, 4);
    assert.equal(replicaPlan(cnn, 128, 'auto', 8, false).threadsPerReplica, 2);
    assert.equal(replicaPlan(cnn, 63, 'auto', 2, false).replicas, 1);
    assert.equal(replicaPlan(cnn, 128, 'auto', 1, false).replicas, 1);
    assert.deepEqual([replicaPlan(cnn, 128, 'auto', 2, true).replicas, replicaPlan(cnn, 128, 'auto', 2, true).threadsPerReplica], [1, 2]);
    assert.equal(replicaPlan(cnn, 128, 4, 8, true).replicas, 4, 'an explicit count still holds');
    assert.equal(replicaPlan(mlp, 128, 'auto', 2).replicas, 1);
    const b = replicaPlan(bn, 128, 'auto', 2);
    assert.equal(b.replicas, 1);
    assert.match(b.reason, /BatchNorm/);
  });

  it('an explicit count: BatchNorm and more replicas than rows are usage errors', () => {
    assert.equal(replicaPlan(mlp, 128, 3, 2).replicas, 3);
    assert.equal(replicaPlan(mlp, 128, 3, 2).threadsPerReplica, 1);
    assert.equal(replicaPlan(bn, 128, 1, 2).replicas, 1);
    assert.throws(() => replicaPlan(bn, 128, 2, 2), (e: unknown) => e instanceof UsageError && /^runtime\.replicas 2: the model has BatchNorm \(\d+ running-statistics buffers/.test(e.message));
    assert.throws(() => replicaPlan(cnn, 4, 5, 2), /UsageError: runtime\.replicas 5: more replicas than rows in a batch \(4\)/);
    assert.throws(() => replicaPlan(cnn, 4, 0, 2), /UsageError: runtime\.replicas 0: expected an integer ≥ 1 or 'auto'/);
  });
});

describe('training on replicas', () => {
  // 330 rows cropped to 12×12, batches of 64: 6 steps per epoch, the last of 10 rows.
  const data: Dataset = (() => {
    const { train } = loadBuiltinMnist();
    const sub = subset(train, new Rng(8).permutation(train.n).subarray(0, 330));
    const x = new Float32Array(sub.n * 144);
    for (let i = 0; i < sub.n; i++) for (let r = 0; r < 12; r++) for (let c = 0; c < 12; c++) x[i * 144 + r * 12 + c] = sub.x[i * 784 + (r + 8) * 28 + c + 8];
    return { ...sub, x, shape: [1, 12, 12] };
  })();
  const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 2, batch: 64, lr: 0.05, jitter: 1, seed: 4, optim: { ...DEFAULT_OPTIM, momentum: 0.9 } };

  async function train(replicas: number | 'auto', threads: number, over: Partial<TrainConfig> = {}, extra: Partial<TrainOptions> = {}) {
    const net = Network.create(CNN, 3);
    const logs: string[] = [];
    const res = await trainNetwork(net, data, { ...cfg, ...over }, { runtime: { threads, replicas }, onLog: (t) => logs.push(t), ...extra });
    return { net, res, logs, losses: res.history.map((e) => e.loss) };
  }
  const bytes = (net: Network) => Buffer.concat([...net.params.values()].map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));

  it('2 replicas at 2 threads: the same losses and weights as one replica to 1e-4, bitwise the same run to run', async () => {
    const one = await train(1, 2);
    const a = await train(2, 2);
    const b = await train(2, 2);
    assert.ok(a.logs.some((l) => /training step on 2 replicas/.test(l)), `no replica log line: ${a.logs.join(' | ')}`);
    assert.ok(!one.logs.some((l) => /replicas/.test(l)));
    assert.equal(a.res.graphRuns, 12, 'one run per step');
    for (const [i, l] of one.losses.entries()) assert.ok(Math.abs(a.losses[i] - l) <= 1e-4 * Math.abs(l), `epoch ${i + 1} loss ${a.losses[i]} vs ${l}`);
    let worst = 0;
    for (const [k, v] of one.net.params) v.forEach((u, i) => (worst = Math.max(worst, Math.abs(u - a.net.params.get(k)![i]) / (Math.abs(u) + 1e-2))));
    assert.ok(worst <= 1e-4, `weights differ by ${worst.toExponential(2)}`);
    assert.ok(bytes(a.net).equals(bytes(b.net)), 'two runs on 2 replicas differ');
    assert.deepEqual(a.losses, b.losses);
  });

  it('an interrupted and resumed run on replicas gives bitwise the uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-replicas-'));
    try {
      const full = await train(2, 2);
      let steps = 0;
      const first = await train(2, 2, { checkpoint: { dir, every: 2 } }, { stepEvery: 1, onEvent: (e) => e.type === 'step' && steps++, shouldStop: () => steps >= 8 });
      assert.ok(first.res.stopped);
      const resumed = await train(2, 2, { checkpoint: { dir, every: 2, resume: true } });
      assert.ok(resumed.logs.some((l) => /resuming from/.test(l)), resumed.logs.join(' | '));
      assert.ok(bytes(resumed.net).equals(bytes(full.net)), 'resumed weights differ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
