import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coveringCounts, evaluateCombination } from '../../src/specialists/index.js';

test('Table-4 breakdown on a hand-made example', () => {
  // 10 examples, 3 classes.
  const labels = [0, 0, 1, 1, 2, 2, 0, 1, 2, 0];
  const gen = [0, 1, 1, 0, 2, 1, 0, 2, 0, 1];
  const comb = [0, 0, 1, 1, 2, 1, 1, 1, 2, 1];
  const groups = [[0, 1], [1, 2], [0]];
  // n × 3 activity mask.
  const active = new Uint8Array([
    1, 0, 0, // ex0 label 0: covered by group 0 → 1
    1, 0, 1, // ex1 label 0: groups 0 and 2 → 2
    1, 1, 0, // ex2 label 1: groups 0 and 1 → 2
    0, 1, 0, // ex3 label 1: group 1 → 1
    0, 0, 0, // ex4 label 2: none → 0
    1, 0, 1, // ex5 label 2: active groups don't hold 2 → 0
    0, 0, 0, // ex6 → 0
    0, 1, 0, // ex7 label 1 → 1
    0, 1, 0, // ex8 label 2 → 1
    1, 0, 1, // ex9 label 0 → 2
  ]);
  const covering = coveringCounts(labels, active, groups);
  assert.deepEqual(Array.from(covering), [1, 2, 2, 1, 0, 0, 0, 1, 1, 2]);
  const ev = evaluateCombination(labels, gen, comb, covering);
  // generalist correct: ex0, ex2, ex4, ex6 → 4; combined correct: ex0, ex1, ex2, ex3, ex4, ex7, ex8 → 7.
  assert.deepEqual(ev.generalist, { errors: 6, accuracy: 0.4 });
  assert.deepEqual(ev.combined, { errors: 3, accuracy: 0.7 });
  assert.deepEqual(ev.coverage, [
    // covering 0: ex4, ex5, ex6 — gen correct 2 (ex4, ex6), comb correct 1 (ex4).
    { covering: 0, examples: 3, deltaCorrect: -1, relativeChange: -0.5 },
    // covering 1: ex0, ex3, ex7, ex8 — gen 1 (ex0), comb 4.
    { covering: 1, examples: 4, deltaCorrect: 3, relativeChange: 3 },
    // covering 2: ex1, ex2, ex9 — gen 1 (ex2), comb 2 (ex1, ex2).
    { covering: 2, examples: 3, deltaCorrect: 1, relativeChange: 1 },
  ]);
  // The result is plain JSON in the shape `dk eval --json` prints.
  assert.deepEqual(JSON.parse(JSON.stringify(ev)), ev);
});

test('relativeChange is null when the generalist got none of a bucket right', () => {
  const ev = evaluateCombination([1, 1], [0, 0], [1, 0], [1, 1]);
  assert.deepEqual(ev.coverage, [{ covering: 1, examples: 2, deltaCorrect: 1, relativeChange: null }]);
  const ev0 = evaluateCombination([1], [0], [0], [3]);
  assert.deepEqual(ev0.coverage, [{ covering: 3, examples: 1, deltaCorrect: 0, relativeChange: 0 }]);
});

test('bad calls name the parameter', () => {
  assert.throws(() => evaluateCombination([0, 1], [0], [0, 1], [0, 0]), /generalistPred.length must equal labels.length \(2\), got 1/);
  assert.throws(() => evaluateCombination([], [], [], []), /labels must not be empty/);
  assert.throws(() => evaluateCombination([0], [0], [0.5], [0]), /combinedPred\[0\] = 0.5/);
  assert.throws(() => coveringCounts([0, 1], new Uint8Array(3), [[0]]), /active.length must be n × M = 2 × 1 = 2/);
});
