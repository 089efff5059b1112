/**
 * The loss graphs of losses.ts, built in float64 and run on onnxruntime, against plain float64
 * JS references; and their gradient w.r.t. the student logits (our backward walker) against the
 * closed form and central finite differences:
 *
 *   soft-ce, α = 1:  ∂L/∂s = T·(softmax(s/T) − g)/N            (the T² factor makes it T, not 1/T)
 *   soft-ce, any α:  ∂L/∂s = [α·T·(softmax(s/T) − g) + (1−α)·(softmax(s) − y)]/N
 *   logit-mse:       ∂L/∂s = [α·((s − s̄) − (t − t̄))/C + (1−α)·(softmax(s) − y)]/N
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backward } from '../../src/autodiff/walker.js';
import { type LossKind, buildLoss } from '../../src/nn/losses.js';
import { logProbsFromProbs, temperedFromLogits, temperedFromProbs } from '../../src/distill/targets.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type TensorData, tensor } from '../../src/graph/ir.js';
import { Runner } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { RT, randn, relErr } from '../distill/helpers.js';
import { DEFAULT_TRAIN, validateTrainConfig } from '../../src/train/config.js';

const N = 4;
const C = 6;

function softmaxT(z: ArrayLike<number>, T: number): Float64Array {
  return temperedFromLogits(z, z.length / C, C, T);
}

/** Plain float64 references of each loss (means over the batch). */
function refLoss(kind: LossKind, s: Float64Array, y: Int32Array, t: Float64Array, T: number, alpha: number): number {
  const logq = (z: Float64Array, temp: number) => Array.from(softmaxT(z, temp), Math.log);
  const lq1 = logq(s, 1);
  let hard = 0;
  for (let i = 0; i < N; i++) hard -= lq1[i * C + y[i]];
  hard /= N;
  if (kind === 'hard') return hard;
  let soft = 0;
  if (kind === 'soft-ce') {
    const p = softmaxT(t, T);
    const lqT = logq(s, T);
    for (let i = 0; i < N * C; i++) soft -= p[i] * lqT[i];
    soft = (T * T * soft) / N;
  } else {
    for (const d of centredDiff(s, t)) soft += (0.5 / C) * d ** 2;
    soft /= N;
  }
  return alpha * soft + (1 - alpha) * hard;
}

/** Per row, the centred student logits minus the centred teacher logits: (s − mean s) − (t − mean t). */
function centredDiff(s: Float64Array, t: Float64Array): Float64Array {
  const d = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    let ms = 0;
    let mt = 0;
    for (let k = 0; k < C; k++) {
      ms += s[i * C + k] / C;
      mt += t[i * C + k] / C;
    }
    for (let k = 0; k < C; k++) d[i * C + k] = s[i * C + k] - ms - (t[i * C + k] - mt);
  }
  return d;
}

function refGrad(kind: LossKind, s: Float64Array, y: Int32Array, t: Float64Array, T: number, alpha: number): Float64Array {
  const q1 = softmaxT(s, 1);
  const g = new Float64Array(N * C);
  for (let i = 0; i < N; i++) for (let k = 0; k < C; k++) g[i * C + k] = (q1[i * C + k] - (k === y[i] ? 1 : 0)) / N;
  if (kind === 'hard') return g;
  for (let i = 0; i < N * C; i++) g[i] *= 1 - alpha;
  if (kind === 'soft-ce') {
    const qT = softmaxT(s, T);
    const p = softmaxT(t, T);
    for (let i = 0; i < N * C; i++) g[i] += (alpha * T * (qT[i] - p[i])) / N;
  } else {
    const d = centredDiff(s, t);
    for (let i = 0; i < N * C; i++) g[i] += (alpha * d[i]) / (C * N);
  }
  return g;
}

const runners = new Map<LossKind, Runner>();

async function lossAndGrad(kind: LossKind, s: Float64Array, y: Int32Array, t: Float64Array, T: number, alpha: number): Promise<{ loss: number; grad: Float64Array }> {
  const r = runners.get(kind)!;
  const onehot = new Float64Array(N * C);
  for (let i = 0; i < N; i++) onehot[i * C + y[i]] = 1;
  const feeds: Record<string, TensorData> = { logits: tensor('float64', [N, C], s), targets: tensor('float64', [N, C], onehot) };
  if (kind !== 'hard') {
    feeds.teacher = tensor('float64', [N, C], t);
    feeds.alpha = tensor('float64', [], [alpha]);
  }
  if (kind === 'soft-ce') feeds.temperature = tensor('float64', [], [T]);
  const out = await r.run(feeds, ['loss', 'grad']);
  return { loss: (out.loss.data as Float64Array)[0], grad: out.grad.data as Float64Array };
}

/** Central differences of the graph's own loss, element by element. */
async function finiteDiff(kind: LossKind, s: Float64Array, y: Int32Array, t: Float64Array, T: number, alpha: number, eps = 1e-5): Promise<Float64Array> {
  const g = new Float64Array(N * C);
  for (let j = 0; j < N * C; j++) {
    const sp = s.slice();
    const sm = s.slice();
    sp[j] += eps;
    sm[j] -= eps;
    g[j] = ((await lossAndGrad(kind, sp, y, t, T, alpha)).loss - (await lossAndGrad(kind, sm, y, t, T, alpha)).loss) / (2 * eps);
  }
  return g;
}

describe('losses (float64 graphs vs plain JS references)', () => {
  before(async () => {
    for (const kind of ['hard', 'soft-ce', 'logit-mse'] as LossKind[]) {
      const g = new GraphBuilder(`loss_${kind}`);
      const s = g.input('logits', 'float64', ['N', C]);
      const L = buildLoss(g, kind, s, C);
      const grads = backward(g, L.loss, [s]);
      g.output(L.loss, 'loss');
      g.output(grads.get(s.name)!, 'grad');
      runners.set(kind, await Runner.create(g.build(), RT));
    }
  });
  after(async () => {
    for (const r of runners.values()) await r.release();
  });

  const rng = new Rng(2024);
  const s = randn(N * C, rng, 3);
  const t = randn(N * C, rng, 5);
  const y = Int32Array.from({ length: N }, () => rng.int(C));

  it('soft-ce at α = 1: ∂L/∂s = T·(softmax(s/T) − g)/N, matching finite differences (T² factor)', async () => {
    for (const T of [1, 3, 20]) {
      const { loss, grad } = await lossAndGrad('soft-ce', s, y, t, T, 1);
      const g = softmaxT(t, T);
      const qT = softmaxT(s, T);
      const formula = Float64Array.from(qT, (q, i) => (T * (q - g[i])) / N);
      const fd = await finiteDiff('soft-ce', s, y, t, T, 1);
      assert.ok(relErr(grad, formula) < 1e-10, `T=${T}: analytic vs formula ${relErr(grad, formula)}`);
      assert.ok(relErr(fd, formula) < 1e-6, `T=${T}: finite differences vs formula ${relErr(fd, formula)}`);
      assert.ok(Math.abs(loss - refLoss('soft-ce', s, y, t, T, 1)) < 1e-10 * Math.max(1, Math.abs(loss)));
    }
  });

  it('a probability teacher fed as log-probabilities gives the same gradient with g = g(y;T)', async () => {
    const T = 4;
    const y1 = softmaxT(t, 1); // teacher probabilities
    const lp = logProbsFromProbs(y1, N, C);
    const { grad } = await lossAndGrad('soft-ce', s, y, lp, T, 1);
    const g = temperedFromProbs(y1, N, C, T);
    const qT = softmaxT(s, T);
    assert.ok(relErr(grad, Float64Array.from(qT, (q, i) => (T * (q - g[i])) / N)) < 1e-10);
  });

  for (const kind of ['hard', 'soft-ce', 'logit-mse'] as LossKind[]) {
    it(`${kind}: loss and gradient match the float64 reference and finite differences (α = 0, 0.3, 0.9)`, async () => {
      for (const alpha of kind === 'hard' ? [0] : [0, 0.3, 0.9]) {
        const T = 2.5;
        const { loss, grad } = await lossAndGrad(kind, s, y, t, T, alpha);
        const want = refLoss(kind, s, y, t, T, alpha);
        assert.ok(Math.abs(loss - want) <= 1e-10 * Math.max(1, Math.abs(want)), `${kind} α=${alpha}: loss ${loss} vs ${want}`);
        const rg = refGrad(kind, s, y, t, T, alpha);
        assert.ok(relErr(grad, rg) < 1e-10, `${kind} α=${alpha}: gradient vs reference ${relErr(grad, rg)}`);
        const fd = await finiteDiff(kind, s, y, t, T, alpha);
        assert.ok(relErr(fd, rg) < 1e-6, `${kind} α=${alpha}: finite differences vs reference ${relErr(fd, rg)}`);
      }
    });
  }

  it('the convex mix is α·soft + (1−α)·hard exactly, and α = 0 is the hard loss', async () => {
    const T = 20;
    const soft = (await lossAndGrad('soft-ce', s, y, t, T, 1)).loss;
    const hard = (await lossAndGrad('hard', s, y, t, T, 0)).loss;
    for (const a of [0, 0.5, 0.9]) {
      const mix = (await lossAndGrad('soft-ce', s, y, t, T, a)).loss;
      assert.ok(Math.abs(mix - (a * soft + (1 - a) * hard)) < 1e-10 * Math.max(1, mix));
    }
  });

  it('logit-mse ignores a per-row shift of the teacher logits (so log-probabilities can stand in for logits)', async () => {
    const shifted = t.map((v, i) => v + Math.floor(i / C) * 7 - 3);
    const a = await lossAndGrad('logit-mse', s, y, t, 1, 0.9);
    const b = await lossAndGrad('logit-mse', s, y, shifted, 1, 0.9);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-10 && relErr(a.grad, b.grad) < 1e-10);
  });
});

describe('loss kinds are checked at the boundary', () => {
  it('buildLoss refuses an unknown kind with a RangeError naming the allowed ones', () => {
    const g = new GraphBuilder('bad_kind');
    const s = g.input('logits', 'float32', ['N', C]);
    assert.throws(
      () => buildLoss(g, 'soft_ce' as LossKind, s, C),
      (e: unknown) => e instanceof RangeError && /soft_ce/.test(e.message) && /hard, soft-ce, logit-mse/.test(e.message),
    );
  });

  it('trainNetwork (validateTrainConfig) refuses an unknown loss before training', () => {
    assert.throws(
      () => validateTrainConfig({ ...DEFAULT_TRAIN, loss: 'kl' as LossKind }),
      (e: unknown) => e instanceof RangeError && /loss/.test(e.message) && /hard, soft-ce, logit-mse/.test(e.message),
    );
  });
});

/**
 * The T → ∞ limit (Hinton et al. 2015, §2.1), in plain float64 without the project's graphs:
 * softmax(x/T)_k = (1 + x̃_k/T + O(T⁻²))/C with x̃ = x − mean x, so the soft-CE gradient
 * T·(softmax(s/T) − softmax(t/T)) → (s̃ − t̃)/C, and T²·KL → (1/2C)·Σ_k (s̃_k − t̃_k)².
 * logit-mse is defined on that scale, so α weighs the soft term alike in both losses.
 */
describe('logit-mse is the T → ∞ limit of the T²-weighted soft term', () => {
  const rng = new Rng(77);
  const s = randn(N * C, rng, 2);
  const t = randn(N * C, rng, 2);
  const y = Int32Array.from({ length: N }, () => rng.int(C));
  before(async () => {
    runners.clear(); // the suite above released its sessions
    for (const kind of ['soft-ce', 'logit-mse'] as LossKind[]) {
      const g = new GraphBuilder(`limit_${kind}`);
      const v = g.input('logits', 'float64', ['N', C]);
      const L = buildLoss(g, kind, v, C);
      const grad = backward(g, L.loss, [v]).get(v.name)!;
      g.output(L.loss, 'loss');
      g.output(grad, 'grad');
      runners.set(kind, await Runner.create(g.build(), RT));
    }
  });
  after(async () => {
    for (const r of runners.values()) await r.release();
    runners.clear();
  });

  it('the logit-mse graph\'s gradient at α = 1 equals the soft-ce graph\'s at T = 1e4 (to 1e-3), and its loss the limit of T²·KL', async () => {
    const T = 1e4;
    const soft = await lossAndGrad('soft-ce', s, y, t, T, 1);
    const mse = await lossAndGrad('logit-mse', s, y, t, T, 1);
    assert.ok(relErr(soft.grad, mse.grad) < 1e-3, `gradients differ: ${relErr(soft.grad, mse.grad)}`);
    // T²·KL(softmax(t/T) ‖ softmax(s/T)), computed in float64 from its definition.
    const pt = softmaxT(t, T);
    const ps = softmaxT(s, T);
    let kl = 0;
    for (let i = 0; i < N * C; i++) kl += pt[i] * (Math.log(pt[i]) - Math.log(ps[i]));
    const limit = (T * T * kl) / N;
    assert.ok(Math.abs(mse.loss - limit) < 1e-3 * limit, `loss ${mse.loss} vs T²·KL ${limit}`);
  });
});
