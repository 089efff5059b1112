import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  type KLTerm,
  activeSpecialists,
  combinationGradient,
  combinationObjective,
  combine,
  combineDetailed,
  combineExample,
  emStep,
  foldProbs,
} from '../../src/specialists/index.js';

function randomDist(rng: Rng, K: number, spread = 1.5): Float64Array {
  const p = new Float64Array(K);
  let s = 0;
  for (let k = 0; k < K; k++) s += p[k] = Math.exp(spread * rng.normal());
  for (let k = 0; k < K; k++) p[k] /= s;
  return p;
}

function term(target: Float64Array, group: number[] | null, C: number): KLTerm {
  const bucketOf = new Int32Array(C);
  if (group === null) for (let k = 0; k < C; k++) bucketOf[k] = k;
  else {
    bucketOf.fill(group.length);
    group.forEach((c, i) => (bucketOf[c] = i));
  }
  return { target, bucketOf };
}

function softmax(z: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let k = 0; k < z.length; k++) mx = Math.max(mx, z[k]);
  const q = Float64Array.from(z, (v) => Math.exp(v - mx));
  const s = q.reduce((a, b) => a + b, 0);
  return q.map((v) => v / s);
}

/** A random problem: generalist + specialists on overlapping groups. */
function randomProblem(rng: Rng, C: number): KLTerm[] {
  const groups = [[0, 1, 2], [2, 5], [1, 3, 4, 6]].map((g) => g.filter((c) => c < C));
  return [term(randomDist(rng, C), null, C), ...groups.map((g) => term(randomDist(rng, g.length + 1), g, C))];
}

test('analytic gradient of the combination objective matches central differences', () => {
  const rng = new Rng(31);
  const C = 7;
  for (let trial = 0; trial < 10; trial++) {
    const terms = randomProblem(rng, C);
    const z = Float64Array.from({ length: C }, () => 2 * rng.normal());
    const v = Float64Array.from({ length: C }, () => rng.normal());
    const g = combinationGradient(terms, z);
    const h = 1e-5;
    const zp = z.map((x, k) => x + h * v[k]);
    const zm = z.map((x, k) => x - h * v[k]);
    const fd = (combinationObjective(terms, softmax(zp)) - combinationObjective(terms, softmax(zm))) / (2 * h);
    const an = g.reduce((a, gk, k) => a + gk * v[k], 0);
    const err = Math.abs(fd - an) / Math.max(1e-8, Math.abs(fd) + Math.abs(an));
    assert.ok(err < 1e-7, `trial ${trial}: fd ${fd} vs analytic ${an} (rel ${err})`);
    // The gradient of a softmax parametrisation sums to zero.
    assert.ok(Math.abs(g.reduce((a, b) => a + b, 0)) < 1e-12);
  }
});

test('EM and gradient descent decrease the objective monotonically and agree', () => {
  const rng = new Rng(8);
  const C = 7;
  for (let trial = 0; trial < 5; trial++) {
    const terms = randomProblem(rng, C);
    let q = Float64Array.from(terms[0].target);
    let F = combinationObjective(terms, q);
    const out = new Float64Array(C);
    for (let it = 0; it < 300; it++) {
      emStep(terms, q, out);
      const F2 = combinationObjective(terms, out);
      assert.ok(F2 <= F + 1e-13, `EM step ${it} raised F: ${F} → ${F2}`);
      assert.ok(Math.abs(out.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      F = F2;
      q = Float64Array.from(out);
    }
    const em = combineExample(terms, C, { method: 'em' });
    const gd = combineExample(terms, C, { method: 'gradient' });
    assert.ok(em.converged && gd.converged, `em ${em.iterations} gd ${gd.iterations}`);
    for (let k = 0; k < C; k++) assert.ok(Math.abs(em.q[k] - gd.q[k]) < 1e-7, `q[${k}] em ${em.q[k]} gd ${gd.q[k]}`);
    // A stationary point: the gradient vanishes there.
    const g = combinationGradient(terms, em.q.map(Math.log));
    for (const gk of g) assert.ok(Math.abs(gk) < 1e-8);
    assert.ok(combinationObjective(terms, em.q) <= F + 1e-12);
  }
});

test('gradient descent also decreases the objective at every accepted step', () => {
  const rng = new Rng(13);
  const C = 6;
  const terms = randomProblem(rng, C);
  let prev = Infinity;
  for (const it of [1, 2, 3, 5, 8, 13, 21, 34]) {
    const r = combineExample(terms, C, { method: 'gradient', maxIterations: it, tolerance: 0 });
    const F = combinationObjective(terms, r.q);
    assert.ok(F <= prev + 1e-14, `after ${it} steps F = ${F} > ${prev}`);
    prev = F;
  }
});

/**
 * Closed form with the generalist and N copies of one specialist on group G: the stationarity
 * conditions give q_k = (pg_k + N pm_k)/(N+1) for k ∈ G and
 * q_k = pg_k (pg_D + N pm_D) / ((N+1) pg_D) outside G (pg_D = Σ_{k∉G} pg_k).
 */
function closedForm(pg: Float64Array, pm: Float64Array, G: number[], N: number): Float64Array {
  const C = pg.length;
  let pgD = 0;
  for (let k = 0; k < C; k++) if (!G.includes(k)) pgD += pg[k];
  const pmD = pm[G.length];
  return Float64Array.from({ length: C }, (_, k) =>
    G.includes(k) ? (pg[k] + N * pm[G.indexOf(k)]) / (N + 1) : (pg[k] * (pgD + N * pmD)) / ((N + 1) * pgD),
  );
}

test('one specialist: matches the closed form; when it dominates, q matches it inside its group', () => {
  const rng = new Rng(21);
  const C = 8;
  const G = [1, 4, 6];
  for (const N of [1, 3, 1000]) {
    const pg = randomDist(rng, C);
    const pm = randomDist(rng, G.length + 1);
    const terms = [term(pg, null, C), ...Array.from({ length: N }, () => term(pm, G, C))];
    const r = combineExample(terms, C);
    assert.ok(r.converged);
    const cf = closedForm(pg, pm, G, N);
    for (let k = 0; k < C; k++) assert.ok(Math.abs(r.q[k] - cf[k]) < 1e-9, `N=${N} q[${k}] ${r.q[k]} vs ${cf[k]}`);
    if (N === 1000) {
      // q restricted to G and renormalised ≈ the specialist's within-group distribution.
      const sq = G.reduce((a, c) => a + r.q[c], 0);
      const sm = pm[0] + pm[1] + pm[2];
      G.forEach((c, i) => assert.ok(Math.abs(r.q[c] / sq - pm[i] / sm) < 5e-3, `class ${c}`));
      // And the dustbin mass matches too.
      assert.ok(Math.abs(1 - sq - pm[3]) < 5e-3);
    }
  }
});

test('combine: no active specialist gives p_g (normalised in float64); active rows solve their own problem', () => {
  const rng = new Rng(3);
  const C = 6;
  const n = 40;
  const pg = new Float32Array(n * C);
  for (let i = 0; i < n; i++) pg.set(randomDist(rng, C, 2), i * C);
  const groups = [
    [0, 1],
    [1, 2, 3],
  ];
  const specialists = groups.map((g) => {
    const probs = new Float32Array(n * (g.length + 1));
    for (let i = 0; i < n; i++) probs.set(randomDist(rng, g.length + 1), i * (g.length + 1));
    return { group: g, probs };
  });
  const active = activeSpecialists(pg, C, groups, 1);
  const none = new Uint8Array(n * groups.length);
  const q0 = combine(pg, C, specialists, none);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < C; k++) sum += pg[i * C + k];
    for (let k = 0; k < C; k++) assert.equal(q0[i * C + k], pg[i * C + k] / sum);
  }
  const res = combineDetailed(pg, C, specialists, active);
  assert.equal(res.unconverged, 0);
  let solved = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(res.q.subarray(i * C, (i + 1) * C));
    const act = groups.map((_, m) => active[i * 2 + m]);
    if (!act[0] && !act[1]) {
      assert.deepEqual(row, Array.from(q0.subarray(i * C, (i + 1) * C)));
      assert.equal(res.iterations[i], 0);
      continue;
    }
    solved++;
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    const norm = (a: ArrayLike<number>) => {
      const s = Array.from(a).reduce((x, y) => x + y, 0);
      return Float64Array.from(a, (v) => v / s);
    };
    const terms = [term(norm(pg.subarray(i * C, (i + 1) * C)), null, C)];
    groups.forEach((g, m) => {
      if (act[m]) terms.push(term(norm(specialists[m].probs.subarray(i * (g.length + 1), (i + 1) * (g.length + 1))), g, C));
    });
    const ref = combineExample(terms, C);
    for (let k = 0; k < C; k++) assert.ok(Math.abs(row[k] - ref.q[k]) < 1e-9);
  }
  assert.ok(solved > 5 && solved < n, `${solved} rows had an active specialist`);
});

test('a specialist recovers mass the generalist put (almost) nowhere', () => {
  // p_g has an exact 0 on class 2; the specialist for {2, 3} is sure it is class 2.
  const C = 4;
  const pg = new Float64Array([0.7, 0.3, 0, 0]);
  const spec = { group: [2, 3], probs: new Float64Array([0.98, 0.01, 0.01]) };
  const q = combine(pg, C, [spec], new Uint8Array([1]));
  assert.ok(q[2] > 0.45, `q = ${Array.from(q)}`);
  const cf = closedForm(Float64Array.from(pg), spec.probs, [2, 3], 1);
  for (let k = 0; k < C; k++) assert.ok(Math.abs(q[k] - cf[k]) < 1e-9);
});

test('activeSpecialists uses the generalist top-n classes', () => {
  const C = 5;
  const pg = new Float64Array([
    0.5, 0.3, 0.1, 0.05, 0.05, // top-2 {0, 1}
    0.05, 0.05, 0.2, 0.3, 0.4, // top-2 {4, 3}
    0.2, 0.2, 0.2, 0.2, 0.2, //   ties → {0, 1}
  ]);
  const groups = [[0, 2], [3], [1, 4]];
  assert.deepEqual(Array.from(activeSpecialists(pg, C, groups, 1)), [1, 0, 0, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(activeSpecialists(pg, C, groups, 2)), [1, 0, 1, 0, 1, 1, 1, 0, 1]);
  assert.deepEqual(Array.from(activeSpecialists(pg, C, groups, 5)), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('folding the combined q reproduces a perfectly agreeing specialist', () => {
  // If the specialist's distribution equals the generalist's folded one, q = p_g.
  const rng = new Rng(17);
  const C = 6;
  const pg = randomDist(rng, C);
  const G = [2, 3];
  const pm = foldProbs(pg, C, G);
  const q = combine(pg, C, [{ group: G, probs: pm }], new Uint8Array([1]));
  for (let k = 0; k < C; k++) assert.ok(Math.abs(q[k] - pg[k]) < 1e-12);
});

test('bad calls name the parameter', () => {
  const pg = new Float64Array([0.5, 0.5, 0.2, 0.8]);
  const sp = { group: [0], probs: new Float64Array(4) };
  assert.throws(() => activeSpecialists(pg, 2, [[0]], 3), /topN must be in \[1, C = 2\]/);
  assert.throws(() => activeSpecialists(pg, 2, [[0, 1]], 1), /groups\[0\] must hold between 1 and 1 classes/);
  assert.throws(() => combine(pg, 2, [sp], new Uint8Array(3)), /active.length must be n × M = 2 × 1 = 2/);
  assert.throws(() => combine(pg, 2, [{ group: [0], probs: new Float64Array(3) }], new Uint8Array(2)), /specialists\[0\].probs.length must be/);
  assert.throws(() => combine(pg, 2, [sp], [1, 1] as unknown as Uint8Array), TypeError);
  assert.throws(() => combine(pg, 2, [sp], new Uint8Array(2), { method: 'newton' as 'em' }), /method must be 'em' or 'gradient'/);
  assert.throws(() => combine(pg, 2, [sp], new Uint8Array([1, 0])), /row 0 of specialists\[0\].probs sums to 0/);
  assert.throws(() => combineExample([], 2), /at least one KL term/);
});

test('combine: rows are normalised alike with or without an active specialist', () => {
  // An unnormalised generalist row (sums to 4): with no specialist active, q is normalised p_g,
  // as it is (as the start and the KL target) on rows where one is active.
  const C = 3;
  const pg = Float64Array.from([2, 1, 1, 2, 1, 1]);
  const spec = { group: [0, 1], probs: Float64Array.from([0.5, 0.25, 0.25, 0.5, 0.25, 0.25]) };
  const q = combine(pg, C, [spec], new Uint8Array([0, 1]));
  assert.deepEqual(Array.from(q.subarray(0, 3)), [0.5, 0.25, 0.25]);
  const s1 = q[3] + q[4] + q[5];
  assert.ok(Math.abs(s1 - 1) < 1e-12, `active row sums to ${s1}`);
  // The specialist agrees with the normalised generalist, so the solved row is p_g too.
  for (let k = 0; k < C; k++) assert.ok(Math.abs(q[3 + k] - q[k]) < 1e-9, `class ${k}: ${q[3 + k]} vs ${q[k]}`);
});
