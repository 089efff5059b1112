import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/util/rng.js';
import { chooseOnHoldout, combinationErrors } from '../../src/specialists/select.js';
import type { SpecialistPredictions } from '../../src/specialists/combine.js';

const C = 6;

/** Held-out rows: the generalist is split between the true class and a partner in {0,1,2}, confident elsewhere. */
function heldOut(seed: number, n = 300): { y: Int32Array; pg: Float64Array } {
  const rng = new Rng(seed);
  const y = new Int32Array(n);
  const pg = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    const t = rng.int(C);
    y[i] = t;
    const row = new Float64Array(C).fill(0.02);
    if (t <= 2) {
      const partner = (t + 1 + rng.int(2)) % 3;
      const own = 0.3 + 0.4 * rng.float();
      row[t] = own;
      row[partner] = 0.9 - own;
    } else row[t] = 0.9;
    let s = 0;
    for (const v of row) s += v;
    for (let c = 0; c < C; c++) pg[i * C + c] = row[c] / s;
  }
  return { y, pg };
}

/** A specialist over `group` + dustbin that puts `right` of its mass on the true class when it is in the group (else on a wrong member). */
function specialist(y: Int32Array, group: number[], right: number, rng: Rng): SpecialistPredictions {
  const K = group.length + 1;
  const probs = new Float64Array(y.length * K);
  for (let i = 0; i < y.length; i++) {
    const k = group.indexOf(y[i]);
    const row = new Float64Array(K).fill((1 - right) / K);
    if (k >= 0) {
      if (rng.float() < right) row[k] += right;
      else row[(k + 1) % group.length] += right;
    } else row[K - 1] += right;
    probs.set(row, i * K);
  }
  return { group, probs };
}

test('held-out choice keeps the helpful specialist, drops the harmful one', () => {
  const { y, pg } = heldOut(1);
  const rng = new Rng(2);
  const good = specialist(y, [0, 1, 2], 0.97, rng);
  const bad = specialist(y, [0, 1, 2], 0.1, rng);
  const r = chooseOnHoldout(y, pg, C, [bad, good], 2);
  assert.ok(r.generalistErrors > 20, `the generalist must make errors here: ${r.generalistErrors}`);
  assert.deepEqual(r.kept, [1]);
  assert.ok(r.errors < r.generalistErrors);
  assert.equal(r.verdicts[0].kept, false);
  assert.match(r.verdicts[0].reason, /not fewer than the generalist's/);
  assert.ok(r.verdicts[0].errorsAlone >= r.generalistErrors);
});

test('held-out choice never keeps a specialist that made held-out errors worse (random candidates, several seeds)', () => {
  let keptAny = 0;
  let droppedAny = 0;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const { y, pg } = heldOut(10 + seed);
    const rng = new Rng(seed);
    const groups = [[0, 1], [1, 2], [0, 1, 2], [3, 4], [0, 2], [2, 3, 5]];
    const cands = groups.map((g) => specialist(y, g, 0.2 + 0.8 * rng.float(), rng));
    const r = chooseOnHoldout(y, pg, C, cands, 2);
    const base = combinationErrors(y, pg, C, [], 2);
    assert.equal(r.generalistErrors, base);
    let prev = base;
    const sofar: SpecialistPredictions[] = [];
    for (const i of r.kept) {
      // Independently recomputed: alone it lowers the errors, and it lowered them when added.
      assert.ok(combinationErrors(y, pg, C, [cands[i]], 2) < base, `seed ${seed}: kept ${i} does not help alone`);
      sofar.push(cands[i]);
      const e = combinationErrors(y, pg, C, sofar, 2);
      assert.ok(e < prev, `seed ${seed}: adding ${i} did not lower the errors (${prev} → ${e})`);
      prev = e;
    }
    assert.equal(r.errors, prev);
    assert.ok(r.errors <= base);
    for (const v of r.verdicts) if (v.errorsAlone >= base) assert.equal(v.kept, false);
    assert.equal(r.verdicts.filter((v) => v.kept).length, r.kept.length);
    keptAny += r.kept.length;
    droppedAny += r.verdicts.length - r.kept.length;
  }
  // The seeds exercise both outcomes (not a vacuous check).
  assert.ok(keptAny > 0 && droppedAny > 0, `kept ${keptAny}, dropped ${droppedAny}`);
});

test('held-out choice: mismatched labels are named', () => {
  const { y, pg } = heldOut(1, 10);
  assert.throws(() => chooseOnHoldout(y.subarray(0, 5), pg, C, [], 2), /labels has 5 entries, pg 10 rows/);
});
