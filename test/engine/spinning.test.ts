/**
 * Thread spinning: off by default, on where the environment asks OpenMP's active wait
 * (OMP_WAIT_POLICY=ACTIVE), and off for sessions that take turns every step (`alternating`)
 * unless the caller set it, whatever the environment says. Speed is measured in bench/, not
 * here; these check the options each session is created with.
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

  it('does not spin by default, and spins under OMP_WAIT_POLICY=ACTIVE (any case, spaces trimmed)', () => {
    delete process.env.OMP_WAIT_POLICY;
    assert.equal(defaultSpinning(), false);
    assert.equal(spinOf({}), '0');
    for (const v of ['ACTIVE', 'active', ' Active ']) {
      process.env.OMP_WAIT_POLICY = v;
      assert.equal(defaultSpinning(), true, v);
      assert.equal(spinOf({}), '1', v);
    }
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
    assert.equal(spinOf({}), '0');
  });

  it('an explicit setting wins over the environment, and a sessionConfig entry over the environment', () => {
    process.env.OMP_WAIT_POLICY = 'ACTIVE';
    assert.equal(spinOf({ spinning: false }), '0');
    delete process.env.OMP_WAIT_POLICY;
    assert.equal(spinOf({ spinning: true }), '1');
    assert.equal(spinOf({ sessionConfig: { 'intra_op.allow_spinning': '1' } }), '1');
    process.env.OMP_WAIT_POLICY = 'ACTIVE';
    assert.equal(spinOf({ sessionConfig: { 'intra_op.allow_spinning': '0' } }), '0');
  });

  it('alternating sessions do not spin, even under OMP_WAIT_POLICY=ACTIVE, unless asked; other options kept', () => {
    process.env.OMP_WAIT_POLICY = 'ACTIVE';
    assert.deepEqual(alternating({ threads: 2, replicas: 'auto' }), { threads: 2, replicas: 'auto', spinning: false });
    assert.equal(spinOf(alternating()), '0');
    assert.equal(spinOf(alternating({ spinning: true })), '1');
  });
});
