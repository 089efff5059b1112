/** Bias offsets picked on held-out data, the adjusted model, and transfer-set control. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { biasGrid, errorsWithOffset, holdoutSplit, pickBiasOffset, withBiasOffset } from '../../src/distill/bias.js';
import { transferSet } from '../../src/distill/transfer.js';
import { classCounts } from '../../src/data/subset.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { RT, mnistSample, relErr } from './helpers.js';

describe('bias adjustment', () => {
  // Synthetic held-out logits: the right class gets +2, but class 3's logit is 2.6 too low everywhere.
  const n = 400;
  const C = 10;
  const rng = new Rng(1);
  const labels = Int32Array.from({ length: n }, () => rng.int(C));
  const logits = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < C; k++) logits[i * C + k] = rng.normal() * 0.5 + (k === labels[i] ? 2 : 0) - (k === 3 ? 2.6 : 0);
  }

  it('picks the offset with the fewest held-out errors (raising an under-predicted class)', () => {
    const p = pickBiasOffset(logits, labels, [3], biasGrid());
    assert.ok(p.offset > 1.5 && p.offset < 4, `offset ${p.offset}`);
    assert.ok(p.errors < p.baseline, `${p.errors} < ${p.baseline}`);
    assert.equal(p.errors, Math.min(...p.curve.map((c) => c.errors)));
    assert.equal(p.baseline, errorsWithOffset(logits, labels, [3], 0));
    assert.equal(p.curve.length, 81);
  });

  it('lowers over-predicted classes (negative offsets), ties go to the smallest |offset|', () => {
    const up = logits.map((v, i) => v + ([7, 8].includes(i % C) ? 4 : 0) + (i % C === 3 ? 2.6 : 0));
    const p = pickBiasOffset(up, labels, [7, 8]);
    assert.ok(p.offset < -2.5 && p.offset > -6, `offset ${p.offset}`);
    // Constant logits: any offset > 0 predicts 3 everywhere, any ≤ 0 predicts 0 (the first max).
    const flat = pickBiasOffset(new Float32Array(n * C), labels, [3], [-1, 1, 0.5, -0.5]);
    const count = (c: number) => labels.filter((y) => y === c).length;
    assert.equal(flat.offset, count(3) > count(0) ? 0.5 : -0.5);
  });

  it('refuses bad arguments', () => {
    assert.throws(() => pickBiasOffset(logits, labels, [10]), /class 10 is out of range/);
    assert.throws(() => pickBiasOffset(logits, labels, []), /at least one class/);
    assert.throws(() => pickBiasOffset(logits, labels, [3], []), /candidates/);
  });

  it('the adjusted model adds the offset to out.bias: its logits move by exactly the offset', async () => {
    const { test } = mnistSample(600, 300);
    const net = Network.create({ spec: 'mlp:16', inputShape: [784], classes: 10, options: {} }, 1);
    const adj = withBiasOffset(net, [7, 8], -2.5);
    const a = await networkLogits(net, test, RT);
    const b = await networkLogits(Network.fromOnnx(adj.toOnnx()), test, RT);
    const want = a.map((v, i) => v + ([7, 8].includes(i % 10) ? -2.5 : 0));
    assert.ok(relErr(b, want) < 1e-6);
    assert.equal(net.params.get('out.bias')![7], 0, 'the original is untouched');
  });
});

describe('transfer set', () => {
  const { train } = mnistSample(600, 300);

  it('omits, keeps, takes a stratified fraction and holds out, keeping example ids', () => {
    const om = transferSet(train, { omitClasses: [3] }, 1);
    assert.equal(classCounts(om.data)[3], 0);
    assert.equal(om.data.n, train.n - classCounts(train)[3]);
    for (let r = 0; r < om.data.n; r++) assert.equal(om.data.y[r], train.y[om.data.ids![r]]);
    assert.match(om.description, /class 3 omitted/);

    const only = transferSet(train, { onlyClasses: [7, 8] }, 1);
    assert.ok(Array.from(only.data.y).every((y) => y === 7 || y === 8));

    const fr = transferSet(train, { fraction: 0.1, unlabeled: true }, 1);
    assert.equal(fr.data.n, 60);
    assert.equal(fr.labeled, false);
    assert.ok(Array.from(classCounts(fr.data)).every((c) => c >= 4 && c <= 8), 'stratified');
    assert.deepEqual(transferSet(train, { fraction: 0.1 }, 1).data.ids, fr.data.ids, 'seeded');

    const ho = transferSet(train, { holdout: 100, omitClasses: [3] }, 1);
    const held = holdoutSplit(train, 100, 1).holdout;
    const heldIds = new Set(held.ids);
    assert.ok(Array.from(ho.data.ids!).every((id) => !heldIds.has(id)), 'held-out examples never enter the transfer set');
    assert.ok(held.y.includes(3), 'the held-out split keeps the omitted class (to pick its bias)');
  });

  it('refuses out-of-range classes and bad fractions (UsageError naming the flag)', () => {
    // In the library's words (the parameter's name); the CLI says --omit-classes (src/cli/flags.ts).
    assert.throws(() => transferSet(train, { omitClasses: [12] }, 1), (e: Error) => e instanceof UsageError && /^omitClasses: class 12 is out of range/.test(e.message));
    assert.throws(() => transferSet(train, { onlyClasses: [] }, 1), (e: Error) => e instanceof UsageError && /^onlyClasses: expected a non-empty list/.test(e.message));
    assert.throws(() => transferSet(train, { fraction: 1.5 }, 1), (e: Error) => e instanceof UsageError && /^fraction: must be in \(0, 1\]/.test(e.message));
  });
});
