/**
 * The starting dustbin output of a specialist.
 *
 * The specialist keeps the generalist's output columns for its group's classes; the dustbin
 * needs one new column. The logit that would reproduce the generalist's folded distribution
 * exactly is z_D = log Σ_{c∉G} exp z_c, which is not a linear function of the features, so no
 * column gives it. Two choices:
 *
 * - 'mean' (default): W_D = mean of the non-group columns, b_D = their mean bias + log|R|
 *   (R = classes outside G). Exact when the outside logits are equal (Jensen: otherwise a
 *   lower bound). Free, but for a confident generalist far off at the start: on an example of
 *   an outside class c, z_c sits well above the mean, so the dustbin is badly under-stated
 *   (MNIST validation split, mlp:30 generalist: 3434 folded-task errors at the start against
 *   the folded generalist's 220).
 * - 'fit': the best dustbin that is a linear function of the generalist's logits,
 *   z_D = Σ_c a_c z_c + a_0, i.e. W_D = W a, b_D = b·a + a_0 (a column in the span of the
 *   generalist's columns). (a, a_0) minimise the cross-entropy between the folded generalist
 *   distribution p_fold and softmax([z_G, z_D]) over the training examples (a subsample of
 *   at most `maxRows`, evenly strided). The logit z_D is linear in the C+1 unknowns, so the
 *   problem is convex (a logistic regression with the group logits as a fixed offset); it is
 *   solved by Newton's method with backtracking, starting from 'mean'. Same case: 407 errors
 *   at the start instead of 3434.
 *
 * Why 'mean' is the default: after the specialist's training (10 epochs, lr 0.05) the start no
 * longer shows — same case, folded errors 196 and 243 for the two specialists from 'mean',
 * 206 and 249 from 'fit'; combined with the generalist 296 vs 297 errors — while the fit costs
 * O(rows · C²) per Newton step: measured 0.13 s per specialist for C = 10 but 17 s for C = 100. 'fit'
 * is the better choice for short, low-learning-rate fine-tuning of few-class specialists.
 *
 * Newton step. With s_D = softmax([z_G, z_D])_D, p_D = Σ_{c∉G} p_c and x = [z, 1]:
 *   ∇ = mean_i (s_iD − p_iD) x_i,   H = mean_i s_iD (1 − s_iD) x_i x_iᵀ (+ 1e-8·I for rank safety).
 */
import { classMap } from './fold.js';

export type DustbinInit = 'mean' | 'fit';
export const DUSTBIN_INITS: readonly DustbinInit[] = ['mean', 'fit'];

/** Coefficients (a_0..a_{C−1}, a_C = intercept) of the dustbin logit as a function of the logits. */
export type DustbinReadout = Float64Array;

/** 'mean' readout: a_c = 1/|R| for c ∉ G, intercept log|R|. */
export function meanDustbinReadout(C: number, group: readonly number[]): DustbinReadout {
  const map = classMap(group, C);
  const th = new Float64Array(C + 1);
  const R = C - map.group.length;
  for (let c = 0; c < C; c++) if (map.toSpecialist[c] === map.dustbin) th[c] = 1 / R;
  th[C] = Math.log(R);
  return th;
}

/** Solve A x = b (n×n, row-major) by Gaussian elimination with partial pivoting (copies A, b). */
function solve(A0: Float64Array, b0: Float64Array, n: number): Float64Array {
  const A = A0.slice();
  const b = b0.slice();
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let r = i + 1; r < n; r++) if (Math.abs(A[r * n + i]) > Math.abs(A[p * n + i])) p = r;
    if (p !== i) {
      for (let c = 0; c < n; c++) [A[i * n + c], A[p * n + c]] = [A[p * n + c], A[i * n + c]];
      [b[i], b[p]] = [b[p], b[i]];
    }
    const d = A[i * n + i];
    if (d === 0) continue;
    for (let r = i + 1; r < n; r++) {
      const f = A[r * n + i] / d;
      if (f === 0) continue;
      for (let c = i; c < n; c++) A[r * n + c] -= f * A[i * n + c];
      b[r] -= f * b[i];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let c = i + 1; c < n; c++) s -= A[i * n + c] * x[c];
    const d = A[i * n + i];
    x[i] = d === 0 ? 0 : s / d;
  }
  return x;
}

/**
 * Fit the dustbin readout (see the top of this file). `logits` n×C are the generalist's on the
 * training examples; `probs` n×C its probabilities (softmax of the logits; the target).
 */
export function fitDustbinReadout(
  logits: Float32Array,
  probs: Float64Array,
  C: number,
  group: readonly number[],
  opts: { maxRows?: number; iterations?: number } = {},
): DustbinReadout {
  const map = classMap(group, C);
  const G = map.group;
  const n = logits.length / C;
  const maxRows = opts.maxRows ?? 20000;
  const stride = Math.max(1, Math.ceil(n / maxRows));
  const rows: number[] = [];
  for (let i = 0; i < n; i += stride) rows.push(i);
  const m = rows.length;
  const P = C + 1;
  const pD = new Float64Array(m);
  rows.forEach((i, j) => {
    let s = 0;
    for (let c = 0; c < C; c++) if (map.toSpecialist[c] === map.dustbin) s += probs[i * C + c];
    pD[j] = s;
  });
  // Per example: the group's logits enter only through their log-sum-exp.
  const lseG = new Float64Array(m);
  rows.forEach((i, j) => {
    let mx = -Infinity;
    for (const c of G) mx = Math.max(mx, logits[i * C + c]);
    let s = 0;
    for (const c of G) s += Math.exp(logits[i * C + c] - mx);
    lseG[j] = mx + Math.log(s);
  });
  const zD = (th: Float64Array, i: number) => {
    let v = th[C];
    for (let c = 0; c < C; c++) v += th[c] * logits[i * C + c];
    return v;
  };
  // log(e^a + e^b), stable.
  const lae = (a: number, b: number) => (a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b)));
  // Cross-entropy −Σ_{c∈G} p_c (z_c − L) − p_D (z_D − L) with L = lse(z_G, z_D); since the
  // targets sum to 1 this is L − p_D z_D − Σ_{c∈G} p_c z_c, and the last sum does not depend on θ.
  const loss = (th: Float64Array) => {
    let s = 0;
    rows.forEach((i, j) => {
      const z = zD(th, i);
      const L = lae(lseG[j], z);
      s += L - pD[j] * z;
    });
    return s / m;
  };
  let th = meanDustbinReadout(C, G);
  let F = loss(th);
  const x = new Float64Array(P);
  const grad = new Float64Array(P);
  const H = new Float64Array(P * P);
  const iterations = opts.iterations ?? 25;
  for (let it = 0; it < iterations; it++) {
    grad.fill(0);
    H.fill(0);
    rows.forEach((i, j) => {
      for (let c = 0; c < C; c++) x[c] = logits[i * C + c];
      x[C] = 1;
      const z = zD(th, i);
      const sD = Math.exp(z - lae(lseG[j], z));
      const r = sD - pD[j];
      const w = sD * (1 - sD);
      for (let a = 0; a < P; a++) {
        grad[a] += r * x[a];
        const wa = w * x[a];
        for (let b = a; b < P; b++) H[a * P + b] += wa * x[b];
      }
    });
    let gmax = 0;
    for (let a = 0; a < P; a++) {
      grad[a] /= m;
      gmax = Math.max(gmax, Math.abs(grad[a]));
      for (let b = a; b < P; b++) H[b * P + a] = H[a * P + b] /= m;
      H[a * P + a] += 1e-8;
    }
    if (gmax < 1e-7) break;
    const d = solve(H, grad, P);
    let step = 1;
    let accepted = false;
    while (step > 1e-6) {
      const t2 = th.map((v, k) => v - step * d[k]);
      const F2 = loss(t2);
      if (Number.isFinite(F2) && F2 <= F) {
        th = t2;
        F = F2;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
  }
  return th;
}
