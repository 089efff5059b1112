/**
 * Several training steps per graph run (src/train/unroll.ts): the K-step graph's naming, and
 * that training with K steps per run gives bitwise the weights and losses of one step per run —
 * for SGD with the carried previous weights, dropout masks and jitter, the soft loss from a
 * teacher, Adam's in-place state, BatchNorm's buffers, a short last batch, and checkpoints that
 * force single steps around them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { Network } from '../../src/train/network.js';
import { buildStepGraph } from '../../src/train/step.js';
import { DEFAULT_TRAIN, type TrainConfig, type TrainOptions, trainNetwork } from '../../src/train/trainer.js';
import { unrollStepGraph } from '../../src/train/unroll.js';
import { Rng } from '../../src/util/rng.js';

const RT = { threads: 1 };

function mnistSubset(n: number, seed: number): Dataset {
  const { train } = loadBuiltinMnist();
  return subset(train, new Rng(seed).permutation(train.n).subarray(0, n));
}

function bytesOf(net: Network): Buffer {
  const parts: Buffer[] = [];
  for (const m of [net.params, net.buffers]) for (const v of m.values()) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  return Buffer.concat(parts);
}

describe('unrollStepGraph', () => {
  const net = Network.create({ spec: 'mlp:6', inputShape: [784], classes: 10, options: { dropout: 0.5 } }, 1);
  const sg = buildStepGraph(net, 'soft-ce', { ...DEFAULT_OPTIM });

  it('names per-step inputs and outputs x@j, keeps state names, and turns the carried previous weights into an output', () => {
    const u = unrollStepGraph(sg, 3);
    const names = u.graph.inputs.map((v) => v.name);
    for (const x of u.stepInputs) for (let j = 0; j < 3; j++) assert.ok(names.includes(`${x}@${j}`), `${x}@${j} missing`);
    assert.ok(u.stepInputs.includes('mask/fc1.dropout') && u.stepInputs.includes('lr') && u.stepInputs.includes('teacher'));
    assert.deepEqual(u.stepOutputs.sort(), ['correct', 'loss']);
    const outs = u.graph.outputs.map((v) => v.name);
    for (let j = 0; j < 3; j++) assert.ok(outs.includes(`loss@${j}`) && outs.includes(`correct@${j}`));
    const carried = sg.bindings.filter((b) => b.carryFrom);
    assert.ok(carried.length > 0, 'the default SGD form carries the previous weights');
    for (const b of u.bindings) assert.ok(b.output && outs.includes(b.output), `state ${b.input} has no output`);
    for (const c of carried) assert.equal(u.bindings.find((b) => b.input === c.input)!.output, `${c.input}:next`);
    assert.equal(u.graph.nodes.length, 3 * sg.graph.nodes.length);
  });

  it('refuses fewer than 2 steps', () => {
    assert.throws(() => unrollStepGraph(sg, 1), /integer ≥ 2/);
    assert.throws(() => unrollStepGraph(sg, 2.5), /integer ≥ 2/);
  });
});

describe('training with several steps per graph run', () => {
  // 1030 rows in batches of 50: 21 steps per epoch, the last of 30 rows.
  const data = mnistSubset(1030, 8);

  async function train(spec: string, options: Network['spec']['options'], over: Partial<TrainConfig>, stepsPerRun: number, extra: Partial<TrainOptions> = {}) {
    const net = Network.create({ spec, inputShape: [784], classes: 10, options }, 3);
    const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 2, batch: 50, lr: 0.05, jitter: 1, seed: 4, optim: { ...DEFAULT_OPTIM, maxNorm: 2 }, ...over };
    const res = await trainNetwork(net, data, cfg, { runtime: RT, stepsPerRun, ...extra });
    return { bytes: bytesOf(net), losses: res.history.map((e) => [e.loss, e.trainAccuracy]), runs: res.graphRuns };
  }

  // Teacher rows by example id: the subset keeps the ids of the 60000 training examples.
  const trng = new Rng(77);
  const teacher = new Float32Array(60000 * 10).map(() => trng.float() * 8 - 4);

  const cases: [string, string, Network['spec']['options'], Partial<TrainConfig>, Partial<TrainOptions>][] = [
    ['SGD momentum (carried previous weights), dropout, jitter, max-norm', 'mlp:24,16', { dropout: 0.5, inputDropout: 0.2 }, {}, {}],
    ['soft-ce loss from teacher logits', 'mlp:24', { dropout: 0.3 }, { loss: 'soft-ce', temperature: 3, alpha: 0.7 }, { teacher: { logits: teacher, classes: 10 } }],
    ['alternate hard/soft batches', 'mlp:24', {}, { loss: 'soft-ce', mix: 'alternate' }, { teacher: { logits: teacher, classes: 10 } }],
    ['Adam (in-place state) with BatchNorm buffers', 'mlp:24', { batchNorm: true }, { optim: { ...DEFAULT_OPTIM, kind: 'adam', momentum: 0 }, lr: 0.003 }, {}],
  ];
  for (const [what, spec, options, over, extra] of cases) {
    it(`${what}: K = 4 and 5 give bitwise the weights and losses of K = 1`, async () => {
      const one = await train(spec, options, over, 1, extra);
      assert.equal(one.runs, 42);
      for (const k of [4, 5]) {
        const grouped = await train(spec, options, over, k, extra);
        // 21 steps per epoch: 20 full batches in groups of k, the rest (incl. the short last batch) one by one.
        const perEpoch = Math.floor(20 / k) + (21 - k * Math.floor(20 / k));
        assert.equal(grouped.runs, 2 * perEpoch, `K=${k}: graph runs`);
        assert.deepEqual(grouped.losses, one.losses, `K=${k}: epoch losses differ`);
        assert.ok(grouped.bytes.equals(one.bytes), `K=${k}: weights differ`);
      }
    });
  }

  it('checkpoints every 3 steps force single steps around them and change nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-unroll-'));
    try {
      const plain = await train('mlp:24', { dropout: 0.5 }, {}, 1);
      const ck = await train('mlp:24', { dropout: 0.5 }, { checkpoint: { dir, every: 3 } }, 4);
      assert.ok(ck.bytes.equals(plain.bytes));
      assert.deepEqual(ck.losses, plain.losses);
      // No group of 4 fits between checkpoints 3 steps apart.
      assert.equal(ck.runs, 42);
      assert.ok(readdirSync(dir).some((f) => f.endsWith('.dkc')), 'no checkpoint written');
      const every7 = await train('mlp:24', { dropout: 0.5 }, { checkpoint: { dir: join(dir, 'b'), every: 7 } }, 4);
      assert.ok(every7.bytes.equals(plain.bytes));
      assert.ok(every7.runs < 42, 'no group formed between checkpoints 7 steps apart');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one run per step where an epoch has fewer than two groups', async () => {
    const r = await train('mlp:8', {}, { epochs: 1 }, 16);
    assert.equal(r.runs, 21);
  });

  it('refuses a bad stepsPerRun, and teacher outputs that do not cover every example id', async () => {
    await assert.rejects(() => train('mlp:8', {}, { epochs: 1 }, 0), /stepsPerRun must be an integer ≥ 1, got 0/);
    const short = { teacher: { logits: teacher.subarray(0, data.n * 10), classes: 10 } };
    await assert.rejects(() => train('mlp:8', {}, { loss: 'soft-ce' }, 4, short), /teacher outputs hold 1030 rows of 10 classes, but the data has example id \d+: expected one row per example id/);
  });
});
