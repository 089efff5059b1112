/** results.json's `config` block: the optimiser is described from the students' training config, not written out by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { DEFAULT_TRAIN } from '../../src/train/trainer.js';
import { PROFILES } from '../../src/paper/profiles.js';
import { describeOptim, paperConfig } from '../../src/paper/config.js';

test('describeOptim names the optimiser and the settings that are on', () => {
  assert.equal(describeOptim(DEFAULT_OPTIM), 'SGD, momentum 0.9');
  assert.equal(describeOptim({ ...DEFAULT_OPTIM, momentum: 0 }), 'SGD');
  assert.equal(describeOptim({ ...DEFAULT_OPTIM, momentum: 0.5, nesterov: true, weightDecay: 1e-4 }), 'SGD, Nesterov momentum 0.5, weight decay 0.0001');
  assert.equal(describeOptim({ ...DEFAULT_OPTIM, maxNorm: 3.5 }), 'SGD, momentum 0.9, max-norm 3.5');
  assert.equal(describeOptim({ ...DEFAULT_OPTIM, kind: 'adam' }), 'Adam, β1 0.9, β2 0.999, ε 1e-8');
  assert.equal(describeOptim({ ...DEFAULT_OPTIM, kind: 'adamw', weightDecay: 0.01 }), 'AdamW, β1 0.9, β2 0.999, ε 1e-8, decoupled weight decay 0.01');
});

test("paperConfig's optimizer follows the students' config it is given", () => {
  const P = PROFILES.tiny;
  const run = { heldOut: 100, threads: 1, resumedRuns: 0 };
  assert.equal(paperConfig(P, DEFAULT_TRAIN, run).optimizer, 'SGD, momentum 0.9');
  assert.equal(paperConfig(P, { ...DEFAULT_TRAIN, optim: { ...DEFAULT_OPTIM, kind: 'adam' } }, run).optimizer, 'Adam, β1 0.9, β2 0.999, ε 1e-8');
  assert.equal('resumedRuns' in paperConfig(P, DEFAULT_TRAIN, run), false);
  assert.equal(paperConfig(P, DEFAULT_TRAIN, { ...run, resumedRuns: 3 }).resumedRuns, 3);
});
