/**
 * The default ("robust") search for confusable groups, and the choice between it and the
 * paper's k-means on the covariance columns ({@link confusableGroups}).
 *
 * Why the paper's form misses groups on a new dataset: a class c is the point "column c of Σ".
 * Its largest entry is its own variance Σ_cc ≈ m_c(1 − m_c) (≈ 0.09 for 10 balanced classes),
 * while the off-diagonal entries that carry the confusions are an order of magnitude smaller
 * (|Σ_ij| ≈ m_i m_j ≈ 0.01, a little more for confused pairs). Squared Euclidean distance
 * between two columns is then ≈ Σ_ii² + Σ_jj², nearly the same for every pair: every class
 * is about as far from every other, whatever it is confused with, and k-means splits the
 * classes more or less arbitrarily (for a fixed k, often into one big "rest" cluster that is
 * over the size limit and is dropped, taking the real confusions in it along).
 *
 * The robust search instead:
 * 1. measures how much two classes are predicted together, ignoring each class's own variance:
 *    the soft confusion rate R_ij = E[P_i P_j] / E[P_i] (the mean probability the generalist
 *    puts on j where it puts probability on i), symmetrised S_ij = (R_ij + R_ji)/2, i ≠ j. It
 *    is invariant to how frequent a class is, and its diagonal is not used;
 * 2. clusters the classes by average-linkage agglomeration on S (deterministic, no k to guess:
 *    the hierarchy holds every k at once);
 * 3. keeps the maximal clusters all of whose merges were strong: a merge is strong when the
 *    mean S between the two clusters is ≥ `strength` (default 2) × the mean off-diagonal S,
 *    i.e. the two are predicted together at least twice as much as two classes on average;
 * 4. a strong cluster above the size limit is split again (its two sub-clusters are tried in
 *    its place, recursively) rather than dropped; clusters below minSize are dropped;
 * 5. orders the groups by the generalist's within-group confusion counts when given (most
 *    confused first), else by their mean S.
 *
 * These groups are disjoint, so at most one specialist covers a class. With `levels` L > 1 a
 * kept group's sub-clusters (its two children in the hierarchy, theirs in turn, down to L
 * levels; each of at least minSize classes, and strong, since every merge inside a strong
 * cluster is) are kept too: nested groups, so a class is covered by up to L specialists — the
 * overlap the paper got from running k-means several times, which its Table 4 is about. (On
 * the 100-class MNIST pairs the nested specialists did not lower the errors: README.)
 */
import { UsageError } from '../util/errors.js';
import { type Floats, checkClasses, checkFloats, checkPositiveInt, rowsOf } from './check.js';
import { type ConfusableGroupsOptions, classCovariance, compareGroups, confusableGroups } from './confusability.js';

import { DEFAULT_GROUP_SEARCH, DEFAULT_STRENGTH, GROUP_SEARCHES, type GroupSearch } from './search-names.js';

export { DEFAULT_GROUP_SEARCH, DEFAULT_STRENGTH, GROUP_SEARCHES, type GroupSearch } from './search-names.js';

/**
 * Symmetrised soft confusion rates S (C×C row-major, zero diagonal) of soft outputs P (n×C):
 * S_ij = (R_ij + R_ji)/2 with R_ij = E[P_i P_j] / E[P_i] (0 where E[P_i] = 0).
 */
export function softConfusionRates(P: Floats, C: number): Float64Array {
  const fn = 'softConfusionRates';
  checkFloats(P, fn, 'P');
  checkClasses(C, fn);
  const n = rowsOf(P, C, fn, 'P');
  if (n < 1) throw new RangeError(`${fn}: P must hold at least one row (n × ${C}), got 0`);
  // E[P_i P_j] = Σ_ij + m_i m_j; the means from one pass.
  const cov = classCovariance(P, C);
  const m = new Float64Array(C);
  for (let e = 0; e < n; e++) for (let k = 0; k < C; k++) m[k] += P[e * C + k];
  for (let k = 0; k < C; k++) m[k] /= n;
  const S = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    for (let j = i + 1; j < C; j++) {
      const second = Math.max(0, cov[i * C + j] + m[i] * m[j]);
      const rij = m[i] > 0 ? second / m[i] : 0;
      const rji = m[j] > 0 ? second / m[j] : 0;
      S[i * C + j] = S[j * C + i] = (rij + rji) / 2;
    }
  }
  return S;
}

export interface RobustGroupsOptions {
  /** Smallest group kept; default 2. */
  minSize?: number;
  /** Largest group kept; default C − 1 (and at most C − 1). */
  maxSize?: number;
  /** A merge is strong when its mean S ≥ strength × the mean off-diagonal S; default 2. */
  strength?: number;
  /** The generalist's confusion counts (C×C, [true, predicted]) used to order the groups. */
  confusion?: ArrayLike<number>;
  /** Levels of nested groups: 1 (default) the maximal strong clusters only; L also their strong sub-clusters down to L levels. */
  levels?: number;
}

interface Node {
  members: number[];
  /** Mean S between the two children at the merge (Infinity for a leaf). */
  linkage: number;
  children: [Node, Node] | null;
}

/** Groups from the similarity S (C×C, zero diagonal): see steps 2–5 at the top of this file. */
export function robustGroupsFromSimilarity(S: Floats, C: number, options: RobustGroupsOptions = {}): number[][] {
  const fn = 'robustGroups';
  checkFloats(S, fn, 'S');
  checkClasses(C, fn);
  if (S.length !== C * C) throw new RangeError(`${fn}: S.length must be C × C = ${C * C}, got ${S.length}`);
  const minSize = checkPositiveInt(options.minSize ?? 2, fn, 'options.minSize');
  const maxSize = checkPositiveInt(options.maxSize ?? C - 1, fn, 'options.maxSize');
  if (maxSize > C - 1) throw new RangeError(`${fn}: options.maxSize must be <= C − 1 = ${C - 1} (a group of all classes has an empty dustbin), got ${maxSize}`);
  if (minSize > maxSize) throw new RangeError(`${fn}: options.minSize (${minSize}) must be <= options.maxSize (${maxSize})`);
  const strength = options.strength ?? DEFAULT_STRENGTH;
  if (typeof strength !== 'number' || !(strength > 0) || !Number.isFinite(strength)) throw new RangeError(`${fn}: options.strength must be a finite number > 0, got ${strength}`);
  const levels = checkPositiveInt(options.levels ?? 1, fn, 'options.levels');
  if (options.confusion !== undefined && options.confusion.length !== C * C) {
    throw new RangeError(`${fn}: options.confusion.length must be C × C = ${C * C}, got ${options.confusion.length}`);
  }
  let mean = 0;
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      const v = S[i * C + j];
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: S[${i}, ${j}] = ${v}; entries must be finite`);
      if (i !== j) mean += v;
    }
  }
  mean /= C * (C - 1);
  const threshold = strength * mean;

  // Average linkage (UPGMA): merge the pair of clusters with the largest mean S between them;
  // ties broken by the smallest member ids (deterministic).
  let clusters: Node[] = Array.from({ length: C }, (_, c) => ({ members: [c], linkage: Infinity, children: null }));
  const between = (a: Node, b: Node): number => {
    let s = 0;
    for (const i of a.members) for (const j of b.members) s += S[i * C + j];
    return s / (a.members.length * b.members.length);
  };
  while (clusters.length > 1) {
    let bi = 0;
    let bj = 1;
    let best = -Infinity;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const v = between(clusters[i], clusters[j]);
        if (v > best) {
          best = v;
          bi = i;
          bj = j;
        }
      }
    }
    const a = clusters[bi];
    const b = clusters[bj];
    const merged: Node = { members: [...a.members, ...b.members].sort((x, y) => x - y), linkage: best, children: [a, b] };
    clusters = clusters.filter((_, k) => k !== bi && k !== bj);
    clusters.push(merged);
  }

  // A cluster is "strong" when every merge inside it was strong (average linkage is not
  // monotone in general, so this is checked down the tree).
  const strong = (n: Node): boolean => n.children === null || (n.linkage >= threshold && strong(n.children[0]) && strong(n.children[1]));
  const groups: number[][] = [];
  const keep = (n: Node, level: number): void => {
    groups.push(n.members);
    if (level < levels && n.children) for (const child of n.children) if (child.members.length >= minSize) keep(child, level + 1);
  };
  const visit = (n: Node): void => {
    if (n.members.length < minSize) return;
    if (strong(n) && n.members.length <= maxSize) {
      keep(n, 1);
      return;
    }
    if (n.children) {
      visit(n.children[0]);
      visit(n.children[1]);
    }
  };
  visit(clusters[0]);

  const within = (g: number[]): number => {
    let s = 0;
    if (options.confusion) {
      for (const t of g) for (const p of g) if (t !== p) s += options.confusion[t * C + p];
    } else {
      for (const i of g) for (const j of g) if (i !== j) s += S[i * C + j];
      s /= g.length * (g.length - 1);
    }
    return s;
  };
  const scored = groups.map((g) => ({ g, s: within(g) }));
  scored.sort((x, y) => y.s - x.s || compareGroups(x.g, y.g));
  return scored.map((x) => x.g);
}

/** Soft outputs → soft confusion rates → groups (the robust search). */
export function robustGroups(P: Floats, C: number, options: RobustGroupsOptions = {}): number[][] {
  return robustGroupsFromSimilarity(softConfusionRates(P, C), C, options);
}

export interface GroupSearchOptions extends ConfusableGroupsOptions {
  search?: GroupSearch;
  strength?: number;
  confusion?: ArrayLike<number>;
  /** Robust search: levels of nested groups (see {@link RobustGroupsOptions.levels}). */
  levels?: number;
}

/**
 * Groups by the chosen search from soft outputs P (n×C): `robust` (default) or `paper`
 * (k-means on the covariance columns, {@link confusableGroups}; `runs`, `groupsPerRun`,
 * `restarts`, `maxIterations`, `seed` apply to it only).
 */
export function searchGroups(P: Floats, C: number, o: GroupSearchOptions = {}): number[][] {
  const search = o.search ?? DEFAULT_GROUP_SEARCH;
  if (search === 'paper') {
    if (o.levels !== undefined && o.levels !== 1) {
      throw new UsageError({ param: 'levels', detail: 'nested groups come from the robust search\'s hierarchy; the paper\'s k-means overlaps through {runs} and several {groupsPerRun} instead (set {groupSearch} to robust)' });
    }
    return confusableGroups(classCovariance(P, C), C, o);
  }
  if (search !== 'robust') throw new UsageError({ param: 'groupSearch', value: String(search), detail: `expected one of ${GROUP_SEARCHES.join(', ')}` });
  if (o.groupsPerRun !== undefined) {
    throw new UsageError({ param: 'groupsPerRun', detail: "sets k of the paper's k-means; it does not apply to the robust search (set {groupSearch} to paper)" });
  }
  return robustGroups(P, C, { minSize: o.minSize, maxSize: o.maxSize, strength: o.strength, confusion: o.confusion, levels: o.levels });
}
