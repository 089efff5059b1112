/** The learning-rate schedules' warm-up and the default distillation warm-up's length. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTO_WARMUP, autoWarmupSteps, learningRate } from '../../src/optim/schedule.js';

describe('warm-up', () => {
  it('autoWarmupSteps: 10% of the steps, at most 400; a set smaller than a batch is one step per epoch', () => {
    assert.deepEqual(AUTO_WARMUP, { fraction: 0.1, maxSteps: 400 });
    assert.equal(autoWarmupSteps(60000, 128, 30), 400); // 469 × 30 = 14070 steps
    assert.equal(autoWarmupSteps(10847, 128, 40), 340); // 85 × 40 = 3400 steps
    assert.equal(autoWarmupSteps(3000, 128, 2), 5); // 24 × 2 = 48 steps → 4.8
    assert.equal(autoWarmupSteps(50, 128, 10), 1);
  });

  it('learningRate rises linearly over the warm-up, then follows the schedule', () => {
    const s = { kind: 'constant' as const, warmupSteps: 4 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((t) => learningRate(0.2, s, t, 100, 10)), [0.05, 0.1, 0.15000000000000002, 0.2, 0.2, 0.2]);
    const c = { kind: 'cosine' as const, warmupSteps: 2 };
    assert.equal(learningRate(0.2, c, 0, 100, 10), 0.5 * 0.2 * 0.5 * (1 + Math.cos(0)));
    assert.ok(Math.abs(learningRate(0.2, c, 50, 100, 10) - 0.1) < 1e-12);
  });
});
