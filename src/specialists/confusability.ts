/**
 * Confusability: which classes does the generalist confuse with each other?
 *
 * Hinton, Vinyals & Dean 2015, section 5.2: "we apply a clustering algorithm to the covariance
 * matrix of the predictions of our generalist model, so that a set of classes S^m that are
 * often predicted together will be used as targets for one of our specialist models".
 *
 * 1. Soft outputs P (n×C) of the generalist at temperature T: softmax(z/T) from logits, or
 *    g(y;T)_k = y_k^(1/T) / Σ_k' y_k'^(1/T) from probabilities.
 * 2. Class covariance Σ (C×C): Σ_ij = (1/n) Σ_e (P_ei − m_i)(P_ej − m_j), m = column means
 *    (covariance over examples; the columns are the classes). Two classes the generalist puts
 *    probability on together (it cannot tell them apart) have a large positive Σ_ij.
 * 3. Each class c is a point: column c of Σ. k-means (Lloyd, via ml-kmeans) with k-means++
 *    seeding drawn from our seeded Rng (ml-kmeans' own seeding uses another generator, so we
 *    pass it the initial centroids). Each run keeps the best of `restarts` clusterings
 *    (lowest within-cluster sum of squares).
 * 4. The clustering is run several times (`runs` × each k in `groupsPerRun`, a seed derived per
 *    run and k), so groups can overlap and a class can be covered by several specialists.
 *    Clusters outside [minSize, maxSize] and duplicates are dropped; a group of every class
 *    is useless (its dustbin is empty), so maxSize ≤ C − 1.
 */
import { kmeans } from 'ml-kmeans';
import { Rng } from '../util/rng.js';
import { softmaxRows } from '../util/softmax.js';
import {
  type Floats,
  type Labels,
  checkClasses,
  checkFloats,
  checkLabels,
  checkPositiveInt,
  checkProbRows,
  rowsOf,
} from './check.js';

/** The generalist's outputs on the transfer set: probabilities or logits, with a temperature. */
export type SoftOutputsInput =
  | { probs: Floats; temperature?: number }
  | { logits: Floats; temperature?: number };

function checkTemperature(T: unknown, fn: string): number {
  if (typeof T !== 'number') throw new TypeError(`${fn}: temperature must be a number, got ${typeof T}`);
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`${fn}: temperature must be a finite number > 0, got ${T}`);
  return T;
}

/**
 * Temperature-softened probabilities g(y;T)_k = y_k^(1/T) / Σ_k' y_k'^(1/T) (equal to
 * softmax(log y / T)), in float64; T = 1 returns a float64 copy. Rows must be probability vectors.
 */
export function softenProbs(probs: Floats, C: number, temperature = 1): Float64Array {
  const fn = 'softenProbs';
  checkFloats(probs, fn, 'probs');
  checkClasses(C, fn);
  const T = checkTemperature(temperature, fn);
  checkProbRows(probs, C, fn, 'probs');
  const n = probs.length / C;
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    const o = i * C;
    // Work in log space relative to the row maximum so that small T does not underflow.
    let mx = 0;
    for (let k = 0; k < C; k++) if (probs[o + k] > mx) mx = probs[o + k];
    const lmx = Math.log(mx);
    let s = 0;
    for (let k = 0; k < C; k++) {
      const p = probs[o + k];
      const e = p > 0 ? Math.exp((Math.log(p) - lmx) / T) : 0;
      out[o + k] = e;
      s += e;
    }
    for (let k = 0; k < C; k++) out[o + k] /= s;
  }
  return out;
}

/**
 * The generalist's soft outputs P (n×C, float64) at the input's temperature (default 1): from
 * logits softmax(z/T) (src/util/softmax.ts), from probabilities {@link softenProbs}.
 */
export function softOutputs(input: SoftOutputsInput, C: number): Float64Array {
  const T = input.temperature ?? 1;
  if ('logits' in input) {
    const fn = 'softOutputs';
    const z = checkFloats(input.logits, fn, 'logits');
    checkClasses(C, fn);
    checkTemperature(T, fn);
    const n = rowsOf(z, C, fn, 'logits');
    for (let i = 0; i < z.length; i++) {
      if (!Number.isFinite(z[i])) throw new RangeError(`${fn}: logits[${Math.floor(i / C)}, ${i % C}] = ${z[i]}; logits must be finite`);
    }
    // T after the shift, exp((z − max z)/T): the order the published groups were computed in.
    return softmaxRows(z, n, C, { temperature: T, order: 'shift-then-scale' });
  }
  if ('probs' in input) return softenProbs(input.probs, C, T);
  throw new TypeError('softOutputs: input must be { probs, temperature? } or { logits, temperature? }');
}

/**
 * Class covariance of the predictions: Σ_ij = (1/n) Σ_e (P_ei − m_i)(P_ej − m_j), the
 * population covariance over the n examples (the 1/n vs 1/(n−1) choice only scales Σ and does
 * not change the clustering). Returns C×C row-major float64 (symmetric).
 * Accumulated as E[P_i P_j] − m_i m_j in float64 (entries are in [0,1], so no harmful cancellation).
 */
export function classCovariance(P: Floats, C: number): Float64Array {
  const fn = 'classCovariance';
  checkFloats(P, fn, 'P');
  checkClasses(C, fn);
  const n = rowsOf(P, C, fn, 'P');
  if (n < 1) throw new RangeError(`${fn}: P must hold at least one row (n × ${C}), got 0`);
  const m = new Float64Array(C);
  const S = new Float64Array(C * C);
  const row = new Float64Array(C);
  for (let e = 0; e < n; e++) {
    const o = e * C;
    for (let k = 0; k < C; k++) {
      const v = P[o + k];
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: P[${e}, ${k}] = ${v}; values must be finite`);
      row[k] = v;
      m[k] += v;
    }
    for (let i = 0; i < C; i++) {
      const vi = row[i];
      if (vi === 0) continue;
      const oi = i * C;
      for (let j = i; j < C; j++) S[oi + j] += vi * row[j];
    }
  }
  for (let k = 0; k < C; k++) m[k] /= n;
  for (let i = 0; i < C; i++) {
    for (let j = i; j < C; j++) {
      const v = S[i * C + j] / n - m[i] * m[j];
      S[i * C + j] = v;
      S[j * C + i] = v;
    }
  }
  return S;
}

// ---------------------------------------------------------------------------------------------
// k-means with k-means++ seeding from our Rng

function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** Index drawn with probability proportional to w (uniformly among all when Σw = 0). */
function drawWeighted(w: Float64Array, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i];
  if (!(total > 0)) return rng.int(w.length);
  let u = rng.float() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  // Rounding: the last index with positive weight.
  for (let i = w.length - 1; i >= 0; i--) if (w[i] > 0) return i;
  return w.length - 1;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007) in its greedy form (as scikit-learn): the
 * first centre is a uniformly drawn point; each further centre is the best (lowest potential)
 * of 2 + ⌊ln k⌋ candidates drawn with probability ∝ D(x)², the squared distance to the nearest
 * centre chosen so far. Returns the indices of the chosen points. All draws come from `rng`.
 */
export function kmeansPlusPlus(points: readonly ArrayLike<number>[], k: number, rng: Rng): number[] {
  const fn = 'kmeansPlusPlus';
  const N = points.length;
  checkPositiveInt(k, fn, 'k');
  if (k > N) throw new RangeError(`${fn}: k must be <= the number of points (${N}), got ${k}`);
  if (!(rng instanceof Rng)) throw new TypeError(`${fn}: rng must be an Rng`);
  const trials = 2 + Math.floor(Math.log(k));
  const chosen: number[] = [rng.int(N)];
  const closest = new Float64Array(N);
  for (let i = 0; i < N; i++) closest[i] = sqDist(points[i], points[chosen[0]]);
  const cand = new Float64Array(N);
  const best = new Float64Array(N);
  while (chosen.length < k) {
    let bestIdx = -1;
    let bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      let c = drawWeighted(closest, rng);
      if (chosen.includes(c)) {
        // Every remaining point coincides with a centre (D² = 0): take the first unchosen one.
        c = 0;
        while (chosen.includes(c)) c++;
      }
      let pot = 0;
      for (let i = 0; i < N; i++) {
        const d = Math.min(closest[i], sqDist(points[i], points[c]));
        cand[i] = d;
        pot += d;
      }
      if (pot < bestPot) {
        bestPot = pot;
        bestIdx = c;
        best.set(cand);
      }
    }
    chosen.push(bestIdx);
    closest.set(best);
  }
  return chosen;
}

export interface KMeansOutcome {
  /** Cluster id of each point. */
  assignment: number[];
  /** Within-cluster sum of squared distances to the centroids. */
  inertia: number;
}

/**
 * Lloyd's k-means (ml-kmeans) from k-means++ centres drawn from `rng`, run to convergence
 * (tolerance 0: the centres stop moving once the assignment is stable) or maxIterations.
 */
export function kmeansSeeded(points: number[][], k: number, rng: Rng, maxIterations = 300): KMeansOutcome {
  const init = kmeansPlusPlus(points, k, rng).map((i) => points[i].slice());
  const res = kmeans(points, k, { initialization: init, tolerance: 0, maxIterations });
  let inertia = 0;
  for (let i = 0; i < points.length; i++) inertia += sqDist(points[i], res.centroids[res.clusters[i]]);
  return { assignment: res.clusters, inertia };
}

export interface ConfusableGroupsOptions {
  /** How many times the clustering is run for each k (different seeds); default 3. */
  runs?: number;
  /** Number of clusters k per run, or a list of k values each run uses; default max(2, round(C/3)). */
  groupsPerRun?: number | readonly number[];
  /** Smallest group kept; default 2. */
  minSize?: number;
  /** Largest group kept; default C − 1 (and at most C − 1). */
  maxSize?: number;
  /** Seed from which each run's Rng is derived; default 1. */
  seed?: number;
  /** k-means restarts per run (best inertia kept); default 4. */
  restarts?: number;
  /** Lloyd iterations per k-means; default 300. */
  maxIterations?: number;
}

/** Lexicographic order on sorted class lists (a proper prefix sorts first). */
export function compareGroups(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Groups of mutually confusable classes from the class covariance (C×C): k-means on the
 * columns, repeated `runs` times for each k in `groupsPerRun`. Each group is sorted ascending;
 * duplicates and groups outside [minSize, maxSize] are dropped; the list is sorted
 * lexicographically (deterministic for a given seed).
 */
export function confusableGroups(cov: Float64Array, C: number, options: ConfusableGroupsOptions = {}): number[][] {
  const fn = 'confusableGroups';
  checkFloats(cov, fn, 'cov');
  checkClasses(C, fn);
  if (cov.length !== C * C) throw new RangeError(`${fn}: cov.length must be C × C = ${C * C}, got ${cov.length}`);
  const runs = checkPositiveInt(options.runs ?? 3, fn, 'options.runs');
  const restarts = checkPositiveInt(options.restarts ?? 4, fn, 'options.restarts');
  const maxIterations = checkPositiveInt(options.maxIterations ?? 300, fn, 'options.maxIterations');
  const minSize = checkPositiveInt(options.minSize ?? 2, fn, 'options.minSize');
  const maxSize = checkPositiveInt(options.maxSize ?? C - 1, fn, 'options.maxSize');
  if (maxSize > C - 1) throw new RangeError(`${fn}: options.maxSize must be <= C − 1 = ${C - 1} (a group of all classes has an empty dustbin), got ${maxSize}`);
  if (minSize > maxSize) throw new RangeError(`${fn}: options.minSize (${minSize}) must be <= options.maxSize (${maxSize})`);
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new RangeError(`${fn}: options.seed must be a finite number, got ${seed}`);
  const gpr = options.groupsPerRun ?? Math.max(2, Math.round(C / 3));
  const ks = typeof gpr === 'number' ? [gpr] : Array.from(gpr);
  if (ks.length === 0) throw new RangeError(`${fn}: options.groupsPerRun must be a k in [2, ${C}] or a non-empty list of them`);
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2 || k > C) {
      throw new RangeError(`${fn}: options.groupsPerRun must hold integers k in [2, ${C}] (C = ${C}), got ${k}`);
    }
  }
  for (let i = 0; i < cov.length; i++) {
    if (!Number.isFinite(cov[i])) throw new RangeError(`${fn}: cov[${i}] = ${cov[i]}; entries must be finite`);
  }

  const points: number[][] = [];
  for (let c = 0; c < C; c++) {
    const col = new Array<number>(C);
    for (let i = 0; i < C; i++) col[i] = cov[i * C + c];
    points.push(col);
  }

  const found = new Map<string, number[]>();
  for (let r = 0; r < runs; r++) {
    for (const k of ks) {
      const rng = Rng.derive(seed, `specialists/confusability/run=${r}/k=${k}`);
      let best: KMeansOutcome | null = null;
      for (let t = 0; t < restarts; t++) {
        const out = kmeansSeeded(points, k, rng, maxIterations);
        if (best === null || out.inertia < best.inertia) best = out;
      }
      const clusters: number[][] = Array.from({ length: k }, () => []);
      best!.assignment.forEach((cl, c) => clusters[cl].push(c));
      for (const g of clusters) {
        if (g.length < minSize || g.length > maxSize) continue;
        const key = g.join(',');
        if (!found.has(key)) found.set(key, g);
      }
    }
  }
  return [...found.values()].sort(compareGroups);
}

/** Soft outputs → covariance → groups, in one call. */
export function findConfusableGroups(
  input: SoftOutputsInput,
  C: number,
  options: ConfusableGroupsOptions = {},
): number[][] {
  return confusableGroups(classCovariance(softOutputs(input, C), C), C, options);
}

// ---------------------------------------------------------------------------------------------
// Confusion counts inside groups

/** Confusion counts, C×C row-major: entry [t, p] = number of examples of true class t predicted p. */
export function confusionMatrix(labels: Labels, predicted: Labels, C: number): Float64Array {
  const fn = 'confusionMatrix';
  checkClasses(C, fn);
  checkLabels(labels, C, fn, 'labels');
  checkLabels(predicted, C, fn, 'predicted');
  if (labels.length !== predicted.length) {
    throw new RangeError(`${fn}: labels and predicted must have the same length, got ${labels.length} and ${predicted.length}`);
  }
  const M = new Float64Array(C * C);
  for (let i = 0; i < labels.length; i++) M[labels[i] * C + predicted[i]]++;
  return M;
}

export interface GroupConfusion {
  /** The group's classes, ascending. */
  group: number[];
  /** |G|×|G| counts: counts[a][b] = examples of class group[a] predicted as group[b]. */
  counts: number[][];
  /** Within-group confusions: Σ of the off-diagonal entries of `counts`. */
  total: number;
  /** Examples of the group's classes (all predictions), for scale. */
  examples: number;
}

/** For each group, the generalist's confusion counts among the group's classes. */
export function groupConfusions(
  confusion: ArrayLike<number>,
  C: number,
  groups: readonly (readonly number[])[],
): GroupConfusion[] {
  const fn = 'groupConfusions';
  checkClasses(C, fn);
  if (confusion.length !== C * C) throw new RangeError(`${fn}: confusion.length must be C × C = ${C * C}, got ${confusion.length}`);
  return groups.map((g0, gi) => {
    const g = [...g0].sort((a, b) => a - b);
    for (const c of g) {
      if (!Number.isInteger(c) || c < 0 || c >= C) throw new RangeError(`${fn}: groups[${gi}] holds ${c}, not a class id in [0, ${C - 1}]`);
    }
    const counts = g.map((t) => g.map((p) => confusion[t * C + p]));
    let total = 0;
    for (let a = 0; a < g.length; a++) for (let b = 0; b < g.length; b++) if (a !== b) total += counts[a][b];
    let examples = 0;
    for (const t of g) for (let p = 0; p < C; p++) examples += confusion[t * C + p];
    return { group: g, counts, total, examples };
  });
}

/**
 * Text lines: per group a header with its classes and within-group confusions, then the
 * |G|×|G| count table (rows = true class, columns = predicted class).
 */
export function formatGroupConfusions(confusions: readonly GroupConfusion[], classNames?: readonly string[]): string[] {
  const name = (c: number) => (classNames && classNames[c] !== undefined ? classNames[c] : String(c));
  const lines: string[] = [];
  confusions.forEach((gc, i) => {
    const names = gc.group.map(name);
    lines.push(`group ${i + 1}: {${names.join(', ')}}  within-group confusions ${gc.total} (of ${gc.examples} examples of these classes)`);
    const w = Math.max(10, ...names.map((s) => s.length), ...gc.counts.flat().map((v) => String(v).length)) + 1;
    lines.push('  ' + 'true\\pred'.padStart(w) + names.map((s) => s.padStart(w)).join(''));
    gc.counts.forEach((row, a) => {
      lines.push('  ' + names[a].padStart(w) + row.map((v) => String(v).padStart(w)).join(''));
    });
  });
  return lines;
}
