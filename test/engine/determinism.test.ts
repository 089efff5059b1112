/**
 * Reproducibility: every random draw (init, shuffles, dropout masks, jitter) comes from the
 * seed, so a run with the same seed gives bitwise the same weights, and another seed does not.
 * Also the dropout mask generator's keep rate and values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, type TrainConfig, fillDropoutMask, trainNetwork } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';

const RT = { threads: 1 };

function mnistSubset(n: number, seed: number): Dataset {
  const { train } = loadBuiltinMnist();
  const idx = new Rng(seed).permutation(train.n).subarray(0, n);
  return subset(train, idx);
}

function bytesOf(net: Network): Buffer {
  const parts: Buffer[] = [];
  for (const s of net.paramSpecs) {
    const v = net.params.get(s.name)!;
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  for (const s of net.bufferSpecs) {
    const v = net.buffers.get(s.name)!;
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return Buffer.concat(parts);
}

async function run(spec: string, inputShape: number[], data: Dataset, initSeed: number, trainSeed: number, over: Partial<TrainConfig> = {}): Promise<{ net: Network; init: Buffer; loss: number }> {
  const net = Network.create({ spec, inputShape, classes: 10, options: { dropout: 0.5, inputDropout: 0.2 } }, initSeed);
  const init = bytesOf(net);
  const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 1, batch: 50, lr: 0.05, jitter: 2, seed: trainSeed, optim: { ...DEFAULT_OPTIM }, ...over };
  const res = await trainNetwork(net, data, cfg, { runtime: RT });
  return { net, init, loss: res.history[0].loss };
}

describe('determinism', () => {
  const data = mnistSubset(1000, 3);

  it('an MLP with dropout and jitter: same seed → bitwise the same weights; another seed → different', async () => {
    const a = await run('mlp:32', [784], data, 1, 1);
    const b = await run('mlp:32', [784], data, 1, 1);
    assert.deepEqual(a.net.maskSpecs.map((m) => [m.name, m.p]), [['input.dropout', 0.2], ['fc1.dropout', 0.5]]);
    assert.ok(!a.init.equals(bytesOf(a.net)), 'training changed no weight');
    assert.ok(a.init.equals(b.init), 'initial weights differ for the same seed');
    assert.ok(bytesOf(a.net).equals(bytesOf(b.net)), 'trained weights differ for the same seed');
    assert.equal(a.loss, b.loss);
    assert.ok(Number.isFinite(a.loss) && a.loss > 0);

    const c = await run('mlp:32', [784], data, 2, 2);
    assert.ok(!bytesOf(a.net).equals(bytesOf(c.net)), 'a different seed gave the same weights');
    // The training seed alone (shuffle, dropout, jitter) changes the result, with the same init.
    const d = await run('mlp:32', [784], data, 1, 2);
    assert.ok(a.init.equals(d.init));
    assert.ok(!bytesOf(a.net).equals(bytesOf(d.net)), 'the training seed does not reach the shuffles/masks/jitter');
  });

  it('Adam on a small CNN with jitter and dropout is reproducible too', async () => {
    const small = subset(data, Array.from({ length: 200 }, (_, i) => i));
    const over: Partial<TrainConfig> = { optim: { ...DEFAULT_OPTIM, kind: 'adam', momentum: 0 }, lr: 0.002 };
    const a = await run('cnn:2:8', [1, 28, 28], small, 5, 5, over);
    const b = await run('cnn:2:8', [1, 28, 28], small, 5, 5, over);
    assert.ok(!a.init.equals(bytesOf(a.net)));
    assert.ok(bytesOf(a.net).equals(bytesOf(b.net)), 'CNN weights differ for the same seed');
    const c = await run('cnn:2:8', [1, 28, 28], small, 5, 6, over);
    assert.ok(!bytesOf(a.net).equals(bytesOf(c.net)));
  });
});

describe('α = 0 is the hard loss', () => {
  // The paper job's α sweep reuses the hard student for α = 0 (src/paper/experiments/students.ts): a soft-loss
  // run at α = 0 must be that run step for step, whatever the teacher says.
  it('soft-ce at α = 0 trains bitwise the same weights as the hard loss; α = 0.5 does not', async () => {
    const data = mnistSubset(600, 8);
    const rng = new Rng(41);
    const teacher = new Float32Array(60000 * 10).map(() => 4 * rng.normal());
    const train = async (over: Partial<TrainConfig>, withTeacher: boolean): Promise<Buffer> => {
      const net = Network.create({ spec: 'mlp:24', inputShape: [784], classes: 10, options: { dropout: 0.2 } }, 3);
      const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 2, batch: 32, lr: 0.05, seed: 4, temperature: 20, jitter: 1, ...over };
      await trainNetwork(net, data, cfg, { runtime: RT, teacher: withTeacher ? { logits: teacher, classes: 10 } : undefined });
      return bytesOf(net);
    };
    const hard = await train({ loss: 'hard' }, false);
    assert.ok(hard.equals(await train({ loss: 'soft-ce', alpha: 0 }, true)), 'α = 0 differs from the hard loss');
    assert.ok(!hard.equals(await train({ loss: 'soft-ce', alpha: 0.5 }, true)), 'the teacher has no effect at α = 0.5');
  });
});

describe('Rng.fillU32', () => {
  it('gives the same values and final state as n calls of nextU32, for fresh seeds and lengths', () => {
    const seeds = new Rng(20261129);
    for (const n of [0, 1, 2, 7, 1000, 65_537]) {
      const seed = seeds.nextU32();
      const a = new Rng(seed);
      const b = new Rng(seed);
      a.float(); // start mid-stream
      b.float();
      const bulk = a.fillU32(new Uint32Array(n + 2).fill(0xdeadbeef), n);
      for (let i = 0; i < n; i++) assert.equal(bulk[i], b.nextU32(), `seed ${seed}, value ${i} of ${n}`);
      assert.deepEqual([...bulk.subarray(n)], [0xdeadbeef, 0xdeadbeef], 'wrote past n');
      assert.deepEqual(a.state, b.state, `state after ${n} values`);
      assert.equal(a.nextU32(), b.nextU32());
    }
  });

  it('refuses n beyond the buffer', () => {
    assert.throws(() => new Rng(1).fillU32(new Uint32Array(3), 4), /n must be in \[0, 3\]/);
  });
});

describe('fillDropoutMask', () => {
  it('matches the per-draw definition: entry 2w from the low and 2w+1 from the high 16 bits of draw w', () => {
    const seed = new Rng(77).nextU32();
    for (const [n, p] of [[9, 0.3], [1024, 0.5], [1201, 0.2]] as const) {
      const buf = new Float32Array(n);
      fillDropoutMask(buf, n, p, new Rng(seed));
      const ref = new Rng(seed);
      const thr = Math.round(p * 65536);
      const keep = Math.fround(1 / (1 - p));
      for (let i = 0; i < n; i += 2) {
        const r = ref.nextU32();
        assert.equal(buf[i], (r & 0xffff) >= thr ? keep : 0, `n=${n} entry ${i}`);
        if (i + 1 < n) assert.equal(buf[i + 1], r >>> 16 >= thr ? keep : 0, `n=${n} entry ${i + 1}`);
      }
    }
  });


  it('draws 0 or 1/(1−p) with keep rate 1−p, fills exactly n entries (odd n too)', () => {
    for (const p of [0.2, 0.5, 0.8]) {
      const n = 200_001;
      const buf = new Float32Array(n + 3).fill(-7);
      fillDropoutMask(buf, n, p, new Rng(42));
      const keep = Math.fround(1 / (1 - p));
      let zeros = 0;
      let sum = 0;
      let bothZero = 0;
      for (let i = 0; i < n; i++) {
        assert.ok(buf[i] === 0 || buf[i] === keep, `entry ${i} is ${buf[i]}`);
        if (buf[i] === 0) zeros++;
        sum += buf[i];
        if (i % 2 === 0 && i + 1 < n && buf[i] === 0 && buf[i + 1] === 0) bothZero++;
      }
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(zeros / n - p) < 5 * sd, `p=${p}: drop rate ${zeros / n}`);
      // Inverted dropout: the mask's mean is 1, so activations keep their expectation.
      assert.ok(Math.abs(sum / n - 1) < 5 * sd * keep, `p=${p}: mean ${sum / n}`);
      // The two 16-bit halves of one draw are independent: P(both dropped) ≈ p².
      const pairs = Math.floor(n / 2);
      const sd2 = Math.sqrt((p * p * (1 - p * p)) / pairs);
      assert.ok(Math.abs(bothZero / pairs - p * p) < 5 * sd2, `p=${p}: pair rate ${bothZero / pairs}`);
      assert.deepEqual([...buf.subarray(n)], [-7, -7, -7], 'wrote past n');
    }
  });

  it('p = 0 keeps everything at exactly 1', () => {
    const buf = new Float32Array(1001);
    fillDropoutMask(buf, 1001, 0, new Rng(1));
    assert.ok(buf.every((v) => v === 1));
  });

  it('is a pure function of the generator state; successive masks differ', () => {
    const a = new Float32Array(4097);
    const b = new Float32Array(4097);
    const r1 = new Rng(9);
    const r2 = new Rng(9);
    fillDropoutMask(a, a.length, 0.5, r1);
    fillDropoutMask(b, b.length, 0.5, r2);
    assert.deepEqual(a, b);
    assert.deepEqual(r1.state, r2.state);
    fillDropoutMask(b, b.length, 0.5, r2);
    assert.notDeepEqual(a, b);
  });
});
