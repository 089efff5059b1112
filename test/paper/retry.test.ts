/** The paper job's policy for a student whose loss diverges: once more at half the rate, named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { halveLrOnDivergence } from '../../src/paper/helpers.js';
import { DivergenceError } from '../../src/util/errors.js';

describe('halveLrOnDivergence', () => {
  it('a divergence at lr trains again at lr / 2 and reports it once', async () => {
    const tried: number[] = [];
    const retries: [string, number][] = [];
    const r = await halveLrOnDivergence(
      0.1,
      async (lr) => {
        tried.push(lr);
        if (lr > 0.06) throw new DivergenceError('loss exploded to 3.04e+7 at epoch 4');
        return `trained at ${lr}`;
      },
      (e, lr) => retries.push([e.message, lr]),
    );
    assert.equal(r, 'trained at 0.05');
    assert.deepEqual(tried, [0.1, 0.05]);
    assert.deepEqual(retries, [['loss exploded to 3.04e+7 at epoch 4', 0.05]]);
  });

  it('no divergence: one run, no report', async () => {
    const tried: number[] = [];
    const r = await halveLrOnDivergence(0.1, async (lr) => (tried.push(lr), 7), () => assert.fail('no retry expected'));
    assert.equal(r, 7);
    assert.deepEqual(tried, [0.1]);
  });

  it('a second divergence propagates (with the second message); other errors are not retried', async () => {
    let n = 0;
    await assert.rejects(
      halveLrOnDivergence(0.1, async (lr) => {
        n++;
        throw new DivergenceError(`diverged at ${lr}`);
      }, () => {}),
      (e: unknown) => e instanceof DivergenceError && e.message === 'diverged at 0.05',
    );
    assert.equal(n, 2);
    n = 0;
    await assert.rejects(
      halveLrOnDivergence(0.1, async () => {
        n++;
        throw new RangeError('bad shape');
      }, () => assert.fail('no retry expected')),
      /bad shape/,
    );
    assert.equal(n, 1);
  });
});

it('errorsByClass counts the wrong test images by true label', async () => {
  const { errorsByClass } = await import('../../src/paper/session.js');
  const labels = Int32Array.from([0, 1, 2, 2, 1, 0, 2]);
  const wrong = Uint8Array.from([1, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual(errorsByClass(wrong, labels, 4), [1, 1, 2, 0]);
  assert.throws(() => errorsByClass(wrong.subarray(1), labels, 4), /6 flags for 7 labels/);
});
