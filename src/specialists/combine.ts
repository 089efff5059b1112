/**
 * Combining the generalist with the active specialists at inference
 * (Hinton, Vinyals & Dean 2015, section 5.4).
 *
 * For one example with generalist distribution p_g over C classes and active specialists m,
 * each giving p_m over its group G_m plus a dustbin, find q = softmax(z) minimising
 *
 *     F(q) = KL(p_g ‖ q) + Σ_m KL(p_m ‖ A_m q)
 *
 * where A_m folds C classes onto |G_m|+1 buckets ((A_m q)_i = q_{g_i}, (A_m q)_dustbin =
 * Σ_{c∉G_m} q_c). Every term has the same form KL(p ‖ A q) with A a 0/1 "bucket" matrix
 * (each class in exactly one bucket; the generalist's A is the identity), so below a term is
 * a target p over buckets and a map bucketOf: class → bucket.
 *
 * Gradient. Write s = A q (bucket masses) and r_k = p_{b(k)} / s_{b(k)}, i.e. r = Aᵀ(p ⊘ Aq).
 * KL(p‖Aq) = Σ_b p_b log p_b − Σ_b p_b log s_b, so ∂KL/∂q_k = −r_k. Through the softmax,
 * ∂q_k/∂z_j = q_k(δ_kj − q_j), hence
 *
 *     ∂KL/∂z_j = −r_j q_j + q_j Σ_k r_k q_k = q_j (S − r_j),   S = Σ_k r_k q_k = Σ_b p_b = 1,
 *
 * and summed over the T = 1 + (number of active specialists) terms:
 *
 *     ∇_z F = q ⊙ (T − R),   R = Σ_t r_t.
 *
 * Solver (default): the EM / minorise–maximise update. −log s_b = −log Σ_{k∈b} q_k is convex
 * in q, so F is convex on the simplex (strictly, through the generalist's identity term
 * wherever p_g > 0). Jensen's inequality with weights w_k = q_k/s_b at the current q gives a
 * surrogate that touches F at q and lies above it; its minimiser on the simplex is
 *
 *     q_k ← q_k · R_k / T        (Σ_k q_k R_k = Σ_t S_t = T, so this stays normalised)
 *
 * — the classic EM update for mixture proportions from grouped counts. It decreases F at every
 * step, needs no step size, keeps q on the simplex, and its fixed points are exactly the
 * points where ∇_z F = 0. It is a gradient step in disguise: q_new = q − ∇_z F / T. We stop
 * when max_k |q_new − q_k| = ‖∇_z F‖∞ / T ≤ tolerance. Gradient descent on z with Armijo
 * backtracking is kept as `method: 'gradient'` to cross-check it.
 *
 * Initialisation at z = log p_g (entries of p_g below 1e-300 are raised to 1e-300 so that a
 * specialist can move mass onto them). With no active specialist q = p_g (normalised, as everywhere).
 */
import { type Floats, checkClasses, checkFloats, checkGroup, checkPositiveInt, rowsOf } from './check.js';
import { softmaxRows } from '../util/softmax.js';

/** One specialist's predictions on n examples: n×(|G|+1) probabilities, last column the dustbin. */
export interface SpecialistPredictions {
  group: readonly number[];
  probs: Floats;
}

/** One KL(p ‖ A q) term of one example: target over buckets and the class → bucket map. */
export interface KLTerm {
  /** Target distribution over the term's buckets. */
  target: Float64Array;
  /** Length C: bucket index of each class, in [0, target.length). */
  bucketOf: Int32Array;
}

export interface CombineOptions {
  /** 'em' (default; multiplicative EM update) or 'gradient' (gradient descent on z, Armijo). */
  method?: 'em' | 'gradient';
  /** Iteration cap per example; default 2000 (EM) or 20000 (gradient). */
  maxIterations?: number;
  /**
   * Stop when ‖∇_z F‖∞ / T ≤ tolerance (for EM: max |Δq| ≤ tolerance). Default 1e-10 for EM;
   * 1e-8 for gradient descent, whose line search compares objective values and so cannot
   * resolve gradients much below √(machine ε) ≈ 1e-8.
   */
  tolerance?: number;
}

export interface ExampleResult {
  q: Float64Array;
  iterations: number;
  converged: boolean;
}

const FLOOR = 1e-300;

/** Work arrays for one C, reused across examples (no allocation in the iteration loops). */
class Scratch {
  readonly s: Float64Array;
  readonly R: Float64Array;
  readonly q2: Float64Array;
  readonly z: Float64Array;
  readonly z2: Float64Array;
  readonly g: Float64Array;
  constructor(C: number) {
    this.s = new Float64Array(C + 1);
    this.R = new Float64Array(C);
    this.q2 = new Float64Array(C);
    this.z = new Float64Array(C);
    this.z2 = new Float64Array(C);
    this.g = new Float64Array(C);
  }
}

/** F(q) = Σ_t Σ_b p_tb log(p_tb / (A_t q)_b) (0 log 0 = 0; +∞ if a bucket with p > 0 has no mass). */
export function combinationObjective(terms: readonly KLTerm[], q: ArrayLike<number>, scratch?: Float64Array): number {
  const C = q.length;
  const s = scratch ?? new Float64Array(C + 1);
  let F = 0;
  for (const t of terms) {
    const B = t.target.length;
    s.fill(0, 0, B);
    for (let k = 0; k < C; k++) s[t.bucketOf[k]] += q[k];
    for (let b = 0; b < B; b++) {
      const p = t.target[b];
      if (p > 0) F += p * Math.log(p / s[b]);
    }
  }
  return F;
}

/**
 * R = Σ_t r_t with r_t = A_tᵀ(p_t ⊘ A_t q) (entries of empty buckets count 0); returns T = Σ_t S_t,
 * S_t = Σ_{b: s_b > 0} p_tb (= the number of terms when the targets are normalised).
 */
function ratios(terms: readonly KLTerm[], q: ArrayLike<number>, s: Float64Array, R: Float64Array): number {
  const C = q.length;
  R.fill(0, 0, C);
  let T = 0;
  for (const t of terms) {
    const B = t.target.length;
    s.fill(0, 0, B);
    const bo = t.bucketOf;
    for (let k = 0; k < C; k++) s[bo[k]] += q[k];
    for (let b = 0; b < B; b++) if (s[b] > 0) T += t.target[b];
    for (let k = 0; k < C; k++) {
      const sb = s[bo[k]];
      if (sb > 0) R[k] += t.target[bo[k]] / sb;
    }
  }
  return T;
}

/** ∇_z F at z: q ⊙ (T − R) with q = softmax(z) (see the derivation at the top of this file). */
export function combinationGradient(terms: readonly KLTerm[], z: ArrayLike<number>, out?: Float64Array): Float64Array {
  const C = z.length;
  const g = out ?? new Float64Array(C);
  const q = new Float64Array(C);
  softmaxRows(z, 1, C, { out: q });
  const R = new Float64Array(C);
  const T = ratios(terms, q, new Float64Array(C + 1), R);
  for (let k = 0; k < C; k++) g[k] = q[k] * (T - R[k]);
  return g;
}

/**
 * One EM update q_new = q ⊙ R / Σ_k q_k R_k (= q ⊙ R / T). Writes into `out`; returns
 * max_k |q_new,k − q_k|.
 */
export function emStep(terms: readonly KLTerm[], q: ArrayLike<number>, out: Float64Array, scratch?: { s: Float64Array; R: Float64Array }): number {
  const C = q.length;
  const s = scratch?.s ?? new Float64Array(C + 1);
  const R = scratch?.R ?? new Float64Array(C);
  ratios(terms, q, s, R);
  let sum = 0;
  for (let k = 0; k < C; k++) {
    const v = q[k] * R[k];
    out[k] = v;
    sum += v;
  }
  let delta = 0;
  for (let k = 0; k < C; k++) {
    out[k] /= sum;
    const d = Math.abs(out[k] - q[k]);
    if (d > delta) delta = d;
  }
  return delta;
}

function solveEM(terms: readonly KLTerm[], q: Float64Array, sc: Scratch, maxIt: number, tol: number): ExampleResult {
  const C = q.length;
  for (let it = 1; it <= maxIt; it++) {
    const delta = emStep(terms, q, sc.q2, sc);
    q.set(sc.q2);
    if (delta <= tol) return { q, iterations: it, converged: true };
  }
  return { q, iterations: maxIt, converged: false };
}

/** Gradient descent on z with Armijo backtracking; the step grows ×2 after each accepted step. */
function solveGD(terms: readonly KLTerm[], q: Float64Array, sc: Scratch, maxIt: number, tol: number): ExampleResult {
  const C = q.length;
  const { z, z2, g, q2, s, R } = sc;
  for (let k = 0; k < C; k++) z[k] = Math.log(q[k]);
  let F = combinationObjective(terms, q, s);
  let eta = 1;
  for (let it = 1; it <= maxIt; it++) {
    const T = ratios(terms, q, s, R);
    let gmax = 0;
    let gg = 0;
    for (let k = 0; k < C; k++) {
      const v = q[k] * (T - R[k]);
      g[k] = v;
      gg += v * v;
      if (Math.abs(v) > gmax) gmax = Math.abs(v);
    }
    if (gmax / T <= tol) return { q, iterations: it, converged: true };
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let k = 0; k < C; k++) z2[k] = z[k] - eta * g[k];
      softmaxRows(z2, 1, C, { out: q2 });
      const F2 = combinationObjective(terms, q2, s);
      if (F2 < F && F2 <= F - 1e-4 * eta * gg) {
        z.set(z2);
        q.set(q2);
        F = F2;
        eta *= 2;
        accepted = true;
        break;
      }
      eta /= 2;
    }
    if (!accepted) return { q, iterations: it, converged: false };
  }
  return { q, iterations: maxIt, converged: false };
}

function checkOptions(options: CombineOptions, fn: string): { method: 'em' | 'gradient'; maxIt: number; tol: number } {
  const method = options.method ?? 'em';
  if (method !== 'em' && method !== 'gradient') {
    throw new RangeError(`${fn}: options.method must be 'em' or 'gradient', got ${String(method)}`);
  }
  const maxIt = checkPositiveInt(options.maxIterations ?? (method === 'em' ? 2000 : 20000), fn, 'options.maxIterations');
  const tol = options.tolerance ?? (method === 'em' ? 1e-10 : 1e-8);
  if (typeof tol !== 'number' || !(tol >= 0) || !Number.isFinite(tol)) {
    throw new RangeError(`${fn}: options.tolerance must be a finite number >= 0, got ${tol}`);
  }
  return { method, maxIt, tol };
}

/**
 * Solve one example given its terms (the first is usually the generalist's, identity buckets)
 * from the starting distribution `init` (default: the first term's target). Returns a fresh q.
 */
export function combineExample(terms: readonly KLTerm[], C: number, options: CombineOptions = {}, init?: ArrayLike<number>): ExampleResult {
  const fn = 'combineExample';
  checkClasses(C, fn);
  const { method, maxIt, tol } = checkOptions(options, fn);
  if (terms.length === 0) throw new RangeError(`${fn}: terms must hold at least one KL term`);
  for (const [i, t] of terms.entries()) {
    if (t.bucketOf.length !== C) throw new RangeError(`${fn}: terms[${i}].bucketOf.length must be C = ${C}, got ${t.bucketOf.length}`);
    for (let k = 0; k < C; k++) {
      if (!(t.bucketOf[k] >= 0 && t.bucketOf[k] < t.target.length)) {
        throw new RangeError(`${fn}: terms[${i}].bucketOf[${k}] = ${t.bucketOf[k]} is not a bucket in [0, ${t.target.length - 1}]`);
      }
    }
  }
  const start = init ?? (terms[0].target.length === C ? terms[0].target : new Float64Array(C).fill(1 / C));
  if (start.length !== C) throw new RangeError(`${fn}: init.length must be C = ${C}, got ${start.length}`);
  const q = new Float64Array(C);
  let sum = 0;
  for (let k = 0; k < C; k++) sum += q[k] = Math.max(start[k], FLOOR);
  for (let k = 0; k < C; k++) q[k] /= sum;
  const sc = new Scratch(C);
  return method === 'em' ? solveEM(terms, q, sc, maxIt, tol) : solveGD(terms, q, sc, maxIt, tol);
}

function memberships(groups: readonly (readonly number[])[], C: number, fn: string, param: string): Uint8Array {
  if (!Array.isArray(groups)) throw new TypeError(`${fn}: ${param} must be an array of groups (arrays of class ids)`);
  const M = groups.length;
  const member = new Uint8Array(M * C);
  groups.forEach((g, m) => {
    for (const c of checkGroup(g, C, fn, `${param}[${m}]`)) member[m * C + c] = 1;
  });
  return member;
}

/**
 * Which specialists are active on which example: specialist m is active on example i if its
 * group contains one of the generalist's top-n classes for i (ties broken towards the lower
 * class id). Returns an n×M 0/1 mask (row-major, M = groups.length).
 */
export function activeSpecialists(pg: Floats, C: number, groups: readonly (readonly number[])[], topN: number): Uint8Array {
  const fn = 'activeSpecialists';
  checkFloats(pg, fn, 'pg');
  checkClasses(C, fn);
  checkPositiveInt(topN, fn, 'topN');
  if (topN > C) throw new RangeError(`${fn}: topN must be in [1, C = ${C}], got ${topN}`);
  const n = rowsOf(pg, C, fn, 'pg');
  const member = memberships(groups, C, fn, 'groups');
  const M = groups.length;
  const out = new Uint8Array(n * M);
  const top = new Int32Array(topN);
  const taken = new Uint8Array(C);
  for (let i = 0; i < n; i++) {
    const o = i * C;
    taken.fill(0);
    for (let t = 0; t < topN; t++) {
      let b = -1;
      let bv = -Infinity;
      for (let k = 0; k < C; k++) {
        if (!taken[k] && (b < 0 || pg[o + k] > bv)) {
          b = k;
          bv = pg[o + k];
        }
      }
      taken[b] = 1;
      top[t] = b;
    }
    for (let m = 0; m < M; m++) {
      for (let t = 0; t < topN; t++) {
        if (member[m * C + top[t]]) {
          out[i * M + m] = 1;
          break;
        }
      }
    }
  }
  return out;
}

/** Copy a row of length B into dst, normalised to sum 1 (throws for negative, non-finite or all-zero rows). */
function copyNormalised(src: Floats, off: number, B: number, dst: Float64Array, fn: string, what: string): void {
  let sum = 0;
  for (let b = 0; b < B; b++) {
    const v = src[off + b];
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${fn}: ${what} holds ${v}; probabilities must be finite and >= 0`);
    dst[b] = v;
    sum += v;
  }
  if (!(sum > 0)) throw new RangeError(`${fn}: ${what} sums to 0; rows must be probability vectors`);
  for (let b = 0; b < B; b++) dst[b] /= sum;
}

/**
 * The combined distribution q (n×C, float64) for every example: the minimiser of
 * KL(p_g‖q) + Σ_{m active} KL(p_m‖q_m) (see the top of this file). `active` is the n×M mask
 * of {@link activeSpecialists}; `specialists[m].probs` is n×(|G_m|+1). Examples with no active
 * specialist get q = p_g, normalised to sum 1 like every solved row.
 */
export function combine(
  pg: Floats,
  C: number,
  specialists: readonly SpecialistPredictions[],
  active: Uint8Array,
  options: CombineOptions = {},
): Float64Array {
  return combineDetailed(pg, C, specialists, active, options).q;
}

export interface CombineResult {
  /** n×C combined distributions. */
  q: Float64Array;
  /** Solver iterations per example (0 where no specialist was active). */
  iterations: Int32Array;
  /** Examples whose solver hit maxIterations before the tolerance. */
  unconverged: number;
}

/** {@link combine} with per-example iteration counts and the number of unconverged examples. */
export function combineDetailed(
  pg: Floats,
  C: number,
  specialists: readonly SpecialistPredictions[],
  active: Uint8Array,
  options: CombineOptions = {},
): CombineResult {
  const fn = 'combine';
  checkFloats(pg, fn, 'pg');
  checkClasses(C, fn);
  const { method, maxIt, tol } = checkOptions(options, fn);
  const n = rowsOf(pg, C, fn, 'pg');
  if (!Array.isArray(specialists)) throw new TypeError(`${fn}: specialists must be an array of { group, probs }`);
  const M = specialists.length;
  if (!(active instanceof Uint8Array)) throw new TypeError(`${fn}: active must be a Uint8Array (n × M mask from activeSpecialists)`);
  if (active.length !== n * M) throw new RangeError(`${fn}: active.length must be n × M = ${n} × ${M} = ${n * M}, got ${active.length}`);
  const terms: KLTerm[] = [];
  const identity = new Int32Array(C);
  for (let k = 0; k < C; k++) identity[k] = k;
  const gTerm: KLTerm = { target: new Float64Array(C), bucketOf: identity };
  const sTerms: KLTerm[] = specialists.map((sp, m) => {
    const g = checkGroup(sp.group, C, fn, `specialists[${m}].group`);
    checkFloats(sp.probs, fn, `specialists[${m}].probs`);
    const K = g.length + 1;
    if (sp.probs.length !== n * K) {
      throw new RangeError(`${fn}: specialists[${m}].probs.length must be n × (|G|+1) = ${n} × ${K} = ${n * K}, got ${sp.probs.length}`);
    }
    const bucketOf = new Int32Array(C).fill(g.length);
    g.forEach((c, i) => (bucketOf[c] = i));
    return { target: new Float64Array(K), bucketOf };
  });
  const out = new Float64Array(n * C);
  const iterations = new Int32Array(n);
  let unconverged = 0;
  const q = new Float64Array(C);
  const sc = new Scratch(C);
  for (let i = 0; i < n; i++) {
    terms.length = 0;
    for (let m = 0; m < M; m++) {
      if (!active[i * M + m]) continue;
      const K = sTerms[m].target.length;
      copyNormalised(specialists[m].probs, i * K, K, sTerms[m].target, fn, `row ${i} of specialists[${m}].probs`);
      terms.push(sTerms[m]);
    }
    copyNormalised(pg, i * C, C, gTerm.target, fn, `row ${i} of pg`);
    if (terms.length === 0) {
      out.set(gTerm.target, i * C); // q = p_g, normalised as on the solved rows
      continue;
    }
    terms.push(gTerm);
    let sum = 0;
    for (let k = 0; k < C; k++) sum += q[k] = Math.max(gTerm.target[k], FLOOR);
    for (let k = 0; k < C; k++) q[k] /= sum;
    const r = method === 'em' ? solveEM(terms, q, sc, maxIt, tol) : solveGD(terms, q, sc, maxIt, tol);
    out.set(r.q, i * C);
    iterations[i] = r.iterations;
    if (!r.converged) unconverged++;
  }
  return { q: out, iterations, unconverged };
}
