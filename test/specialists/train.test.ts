import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, type TrainConfig } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { LOG_PROB_FLOOR, dustbinLogBias, foldProbs, groupFraction, softmaxRows } from '../../src/specialists/index.js';
import { LOG_PROB_FLOOR as TARGETS_FLOOR, logProbsFromProbs } from '../../src/distill/targets.js';
import { fitDustbinReadout, meanDustbinReadout } from '../../src/specialists/dustbin.js';
import { enrichedSampler, foldedLogProbs, specialistNetwork, trainSpecialist } from '../../src/specialists/train.js';

const C = 5;
const D = 6;

function tinyGeneralist(seed = 3): Network {
  const net = Network.create({ spec: 'mlp:8', inputShape: [D], classes: C, options: {} }, seed);
  // Non-zero output biases, so that copying them is visible.
  const b = net.params.get('out.bias')!;
  for (let c = 0; c < C; c++) b[c] = 0.1 * (c + 1);
  return net;
}

/** n examples in D dims, class c centred on its own direction (learnable), labels cycling. */
function tinyData(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % C;
    for (let d = 0; d < D; d++) x[i * D + d] = Math.min(1, Math.max(0, 0.5 * rng.float() + (d === y[i] ? 0.5 : 0)));
  }
  return { x, y, n, shape: [D], classes: C, source: 'tiny' };
}

test('a specialist copies the generalist and has |G|+1 outputs', () => {
  const g = tinyGeneralist();
  const before = new Map([...g.params].map(([k, v]) => [k, v.slice()]));
  const group = [3, 1];
  const s = specialistNetwork(g, group);
  assert.equal(s.spec.classes, 3);
  assert.equal(s.spec.spec, g.spec.spec);
  assert.deepEqual(s.spec.inputShape, g.spec.inputShape);
  for (const [k, v] of g.params) {
    if (k.startsWith('out.')) continue;
    assert.deepEqual(s.params.get(k), v, `${k} copied`);
    assert.notEqual(s.params.get(k), v, `${k} is a copy, not shared`);
  }
  const W = g.params.get('out.weight')!;
  const b = g.params.get('out.bias')!;
  const W2 = s.params.get('out.weight')!;
  const b2 = s.params.get('out.bias')!;
  const inF = W.length / C;
  assert.equal(W2.length, inF * 3);
  assert.equal(b2.length, 3);
  for (let r = 0; r < inF; r++) {
    assert.equal(W2[r * 3 + 0], W[r * C + 1], 'output 0 ↔ class 1');
    assert.equal(W2[r * 3 + 1], W[r * C + 3], 'output 1 ↔ class 3');
    const mean = (W[r * C + 0] + W[r * C + 2] + W[r * C + 4]) / 3;
    assert.ok(Math.abs(W2[r * 3 + 2] - mean) < 1e-6, 'mean dustbin column');
  }
  assert.equal(b2[0], b[1]);
  assert.equal(b2[1], b[3]);
  assert.ok(Math.abs(b2[2] - ((b[0] + b[2] + b[4]) / 3 + Math.log(3))) < 1e-6, 'dustbin bias: mean + log|R|');
  for (const [k, v] of before) assert.deepEqual(g.params.get(k), v, `generalist's ${k} unchanged`);
  // A readout a gives W_D = W a, b_D = b·a + a_0.
  const a = Float64Array.from([0.5, 0, -1, 0, 2, 0.25]);
  const s2 = specialistNetwork(g, group, a);
  const W3 = s2.params.get('out.weight')!;
  for (let r = 0; r < inF; r++) {
    const want = 0.5 * W[r * C] - W[r * C + 2] + 2 * W[r * C + 4];
    assert.ok(Math.abs(W3[r * 3 + 2] - want) < 1e-6);
  }
  assert.ok(Math.abs(s2.params.get('out.bias')![2] - (0.5 * b[0] - b[2] + 2 * b[4] + 0.25)) < 1e-6);
});

test('folded log-probabilities exponentiate to the folded generalist distribution', () => {
  const rng = new Rng(5);
  const logits = new Float32Array(7 * C).map(() => 4 * rng.normal());
  const lp = foldedLogProbs(logits, C, [0, 2]);
  const ref = foldProbs(softmaxRows(logits, 7, C), C, [0, 2]);
  assert.equal(lp.length, 7 * 3);
  for (let i = 0; i < lp.length; i++) assert.ok(Math.abs(Math.exp(lp[i]) - ref[i]) < 1e-6);
});

test('folded log-probabilities use the distillation targets\' floor and renormalise like them', () => {
  assert.equal(LOG_PROB_FLOOR, TARGETS_FLOOR);
  // Row 0: classes 2 (in the group) and 3 (in the dustbin, with 1 and 4) underflow to probability 0.
  const logits = Float32Array.from([0, -1, -5000, -5000, 2, 1, 1, 1, 1, 1]);
  const lp = foldedLogProbs(logits, C, [0, 2]);
  const want = logProbsFromProbs(foldProbs(softmaxRows(logits, 2, C), C, [0, 2]), 2, 3, new Float32Array(6));
  assert.deepEqual(lp, want);
  const lse = Math.log(1 + Math.exp(TARGETS_FLOOR));
  assert.equal(lp[1], Math.fround(TARGETS_FLOOR - lse), 'the zero of class 2 is log(2^-149), renormalised');
});

test('the enriched sampler counts its steps and rows', () => {
  const labels = Int32Array.from({ length: 103 }, (_, i) => i % C);
  const s = enrichedSampler(labels, [1, 4], C, 16);
  let steps = 0;
  let rows = 0;
  let inGroup = 0;
  for (const b of s.epoch(0, new Rng(9))) {
    steps++;
    rows += b.length;
    for (const r of b) if (labels[r] === 1 || labels[r] === 4) inGroup++;
  }
  assert.equal(steps, s.stepsPerEpoch);
  assert.equal(rows, s.rowsPerEpoch);
  assert.equal(inGroup, 41, 'each group example (21 of class 1, 20 of class 4) once per epoch');
  assert.ok(Math.abs(inGroup / rows - 0.5) < 0.05, 'half the rows from the group');
});

test('the fitted dustbin readout is exact when the outside logits allow it, and never worse than the mean', () => {
  // Classes 1 and 2 always have equal logits: log(e^z1 + e^z2) = z1 + log 2 is linear.
  const rng = new Rng(2);
  const n = 400;
  const C3 = 3;
  const z = new Float32Array(n * C3);
  for (let i = 0; i < n; i++) {
    z[i * 3] = 3 * rng.normal();
    z[i * 3 + 1] = z[i * 3 + 2] = 3 * rng.normal();
  }
  const p = softmaxRows(z, n, C3);
  const th = fitDustbinReadout(z, p, C3, [0]);
  for (let i = 0; i < n; i++) {
    const zd = th[0] * z[i * 3] + th[1] * z[i * 3 + 1] + th[2] * z[i * 3 + 2] + th[3];
    assert.ok(Math.abs(zd - (z[i * 3 + 1] + Math.log(2))) < 1e-3, `row ${i}: ${zd}`);
  }
  // General logits: the fit's cross-entropy is at most the mean readout's.
  const zz = new Float32Array(300 * C).map(() => 3 * rng.normal());
  const pp = softmaxRows(zz, 300, C);
  const ce = (a: Float64Array) => {
    let s = 0;
    for (let i = 0; i < 300; i++) {
      const r = Array.from(zz.subarray(i * C, i * C + C));
      const zd = r.reduce((acc, v, c) => acc + a[c] * v, a[C]);
      const lg = [r[1], r[3], zd];
      const m = Math.max(...lg);
      const L = m + Math.log(lg.reduce((acc, v) => acc + Math.exp(v - m), 0));
      const pd = pp[i * C] + pp[i * C + 2] + pp[i * C + 4];
      s -= pp[i * C + 1] * (r[1] - L) + pp[i * C + 3] * (r[3] - L) + pd * (zd - L);
    }
    return s / 300;
  };
  assert.ok(ce(fitDustbinReadout(zz, pp, C, [1, 3])) <= ce(meanDustbinReadout(C, [1, 3])) + 1e-12);
});

test('after training, out.bias[dustbin] was raised by exactly dustbinLogBias', async () => {
  const g = tinyGeneralist();
  const train = tinyData(150, 1);
  const logits = await networkLogits(g, train, { threads: 1 });
  const group = [0, 2];
  const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 1, batch: 16, lr: 0.05, alpha: 0.3, temperature: 2, loss: 'soft-ce', seed: 4 };
  const base = { generalist: g, group, train, generalistLogits: logits, config: cfg, runtime: { threads: 1 } };
  const raw = await trainSpecialist({ ...base, raiseDustbin: false });
  const raised = await trainSpecialist(base);
  const f = groupFraction(train.y, group, C);
  assert.equal(raised.groupFraction, f);
  assert.equal(raised.dustbinBias, dustbinLogBias(f));
  assert.ok(raised.dustbinBias > 0, 'the group is oversampled (f = 0.4 < 0.5)');
  for (const [k, v] of raw.network.params) {
    const w = raised.network.params.get(k)!;
    if (k !== 'out.bias') {
      assert.deepEqual(w, v, `${k}: same seed, same weights`);
      continue;
    }
    assert.equal(w[0], v[0]);
    assert.equal(w[1], v[1]);
    assert.equal(w[2], Math.fround(v[2] + dustbinLogBias(f)), 'dustbin raised by log(oversampling factor)');
  }
  assert.equal(raised.history.length, 1);
  assert.ok(Number.isFinite(raised.history[0].loss));
  // Hard labels only (alpha = 0) trains too.
  const hard = await trainSpecialist({ ...base, config: { ...cfg, alpha: 0 } });
  assert.equal(hard.network.spec.classes, 3);
});
