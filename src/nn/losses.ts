/**
 * Losses as graph pieces, built from existing ops (LogSoftmax, Mul, ReduceSum, ReduceMean) so
 * the backward walker differentiates them with no rule of their own. All are means over the
 * batch. Inputs fed per step: 'targets' [N,C] (one-hot labels), 'teacher' [N,C] (teacher logits,
 * or log-probabilities for a teacher that outputs probabilities — softmax(log y / T) = g(y;T)),
 * scalars 'temperature' and 'alpha'.
 *
 * hard:      L = CE(y, softmax(s)) = −Σ_k y_k log softmax(s)_k
 * soft-ce:   L = α·T²·CE(softmax(t/T), softmax(s/T)) + (1−α)·CE(y, softmax(s))
 *            Hinton, Vinyals & Dean 2015, §2: the soft term's gradient w.r.t. s scales as 1/T²,
 *            so it is multiplied by T² to keep the two terms' relative weight independent of T.
 *            ∂L/∂s = [α·T·(softmax(s/T) − softmax(t/T)) + (1−α)·(softmax(s) − y)] / N.
 *            The alternating schedule (one batch hard, one soft) feeds α = 0 and α = 1 in turn.
 * logit-mse: L = α·(1/2C)·Σ_k ((s_k − s̄) − (t_k − t̄))² + (1−α)·CE(y, softmax(s))
 *            Caruana et al. 2006 / Ba & Caruana 2014: regress the logits. Its scale is the T → ∞
 *            limit of soft-ce's soft term (the paper, §2.1): softmax(x/T)_k = (1 + x̃_k/T)/C + O(T⁻²)
 *            with x̃ = x − x̄, so T·(softmax(s/T) − softmax(t/T)) → (s̃ − t̃)/C and
 *            T²·KL(softmax(t/T) ‖ softmax(s/T)) → (1/2C)·Σ_k (s̃_k − t̃_k)². Hence the 1/2C and the
 *            centring (softmax ignores a per-row shift), and α weighs the soft term alike in both.
 *            ∂L/∂s = [α·(s̃ − t̃)/C + (1−α)·(softmax(s) − y)] / N.
 */
import type { GraphBuilder } from '../graph/builder.js';
import type { Value } from '../graph/ir.js';

export type LossKind = 'hard' | 'soft-ce' | 'logit-mse';
export const LOSS_KINDS: readonly LossKind[] = ['hard', 'soft-ce', 'logit-mse'];

export function validateLossKind(k: string): LossKind {
  if (!(LOSS_KINDS as readonly string[]).includes(k)) throw new RangeError(`loss must be one of ${LOSS_KINDS.join(', ')}, got '${k}'`);
  return k as LossKind;
}

export interface LossGraph {
  loss: Value;
  /** Names of the per-step inputs this loss reads. */
  inputs: string[];
}

/** −mean_n Σ_k p_nk · log softmax(z)_nk */
export function softCrossEntropy(g: GraphBuilder, p: Value, z: Value): Value {
  const logq = g.op('LogSoftmax', [z], { axis: 1 });
  return g.neg(g.reduceMean(g.reduceSum(g.mul(p, logq), [1]), [0]));
}

export function buildLoss(g: GraphBuilder, kind: LossKind, logits: Value, classes: number): LossGraph {
  validateLossKind(kind);
  const y = g.input('targets', logits.dtype, ['N', classes]);
  const hard = softCrossEntropy(g, y, logits);
  if (kind === 'hard') return { loss: hard, inputs: ['targets'] };
  const t = g.input('teacher', logits.dtype, ['N', classes]);
  const alpha = g.input('alpha', logits.dtype, []);
  const oneMinus = g.sub(g.s(alpha, 1), alpha);
  let soft: Value;
  if (kind === 'soft-ce') {
    const T = g.input('temperature', logits.dtype, []);
    const pt = g.op('Softmax', [g.div(t, T)], { axis: 1 });
    soft = g.mul(g.mul(T, T), softCrossEntropy(g, pt, g.div(logits, T)));
  } else {
    const centre = (v: Value) => g.sub(v, g.reduceMean(v, [1], true));
    const d = g.sub(centre(logits), centre(t));
    soft = g.mul(g.s(d, 0.5 / classes), g.reduceMean(g.reduceSum(g.mul(d, d), [1]), [0]));
  }
  const loss = g.add(g.mul(alpha, soft), g.mul(oneMinus, hard));
  return { loss, inputs: kind === 'soft-ce' ? ['targets', 'teacher', 'alpha', 'temperature'] : ['targets', 'teacher', 'alpha'] };
}
