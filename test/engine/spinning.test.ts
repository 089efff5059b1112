/**
 * Thread spinning: on by default (onnxruntime's and OpenMP's default), off where the environment
 * asks OpenMP's passive wait, and off for sessions that take turns every step (`alternating`)
 * unless the caller set it. Speed is measured in bench/, not here; these check the options
 * each session is created with.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { alternating, defaultSpinning, sessionOptions } from '../../src/runtime/session.js';

const spinOf = (o: Parameters<typeof sessionOptions>[0]): string | undefined => (sessionOptions(o).extra as { session: Record<string, string> }).session['intra_op.allow_spinning'];

describe('intra-op thread spinning', () => {
  const saved = process.env.OMP_WAIT_POLICY;
  afterEach(() => {
    if (saved === undefined) delete process.env.OMP_WAIT_POLICY;
    else process.env.OMP_WAIT_POLICY = saved;
  });

  it('spins by default, and not under OMP_WAIT_POLICY=PASSIVE (any case, spaces trimmed)', () => {
    delete process.env.OMP_WAIT_POLICY;
    assert.equal(defaultSpinning(), true);
    assert.equal(spinOf({}), '1');
    for (const v of ['PASSIVE', 'passive', ' Passive ']) {
      process.env.OMP_WAIT_POLICY = v;
      assert.equal(defaultSpinning(), false, v);
      assert.equal(spinOf({}), '0', v);
    }
    process.env.OMP_WAIT_POLICY = 'ACTIVE';
    assert.equal(spinOf({}), '1');
  });

  it('an explicit setting wins over the environment, and a sessionConfig entry over both', () => {
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
    assert.equal(spinOf({ spinning: true }), '1');
    delete process.env.OMP_WAIT_POLICY;
    assert.equal(spinOf({ spinning: false }), '0');
    assert.equal(spinOf({ sessionConfig: { 'intra_op.allow_spinning': '0' } }), '0');
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
    assert.equal(spinOf({ sessionConfig: { 'intra_op.allow_spinning': '1' } }), '1');
  });

  it('alternating sessions do not spin unless asked, and keep every other option', () => {
    delete process.env.OMP_WAIT_POLICY;
    assert.deepEqual(alternating({ threads: 2, replicas: 'auto' }), { threads: 2, replicas: 'auto', spinning: false });
    assert.equal(spinOf(alternating()), '0');
    assert.equal(spinOf(alternating({ spinning: true })), '1');
  });
});
