/**
 * A loss that explodes but stays finite: at a high temperature, a confident teacher and a large
 * learning rate without warm-up blow the soft loss up by orders of magnitude in a few steps; the
 * weights stay finite, the run "finishes" ruined. The trainer stops it by name instead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { Network } from '../../src/train/network.js';
import { type TrainOptions, DEFAULT_TRAIN, trainNetwork } from '../../src/train/trainer.js';
import { DivergenceError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const n = 240;
const D = 36;
const C = 5;
const rng = new Rng(5);
const DATA: Dataset = { source: 'synthetic', x: new Float32Array(n * D).map(() => rng.float()), y: new Int32Array(n).map((_, i) => i % C), n, shape: [D], classes: C };
/** A confident teacher: logits up to ±60. */
const TEACHER = new Float32Array(n * C).map(() => (rng.float() * 2 - 1) * 60);

async function run(lr: number, explodeFactor?: number): Promise<number[]> {
  const losses: number[] = [];
  const net = Network.create({ spec: 'mlp:32', inputShape: [D], classes: C, options: {} }, 1);
  const opts: TrainOptions = {
    runtime: { threads: 1 },
    stepEvery: 1,
    explodeFactor,
    teacher: { logits: TEACHER, classes: C },
    onEvent: (e) => {
      if (e.type === 'step') losses.push(e.loss);
    },
  };
  await trainNetwork(net, DATA, { ...DEFAULT_TRAIN, epochs: 3, batch: 16, lr, loss: 'soft-ce', alpha: 1, temperature: 20, schedule: { kind: 'constant' } }, opts);
  return losses;
}

describe('a finite loss explosion', () => {
  it('with the check off, lr 20 at T = 20 runs to the end ruined: the loss stays finite but far above where it started', async () => {
    const losses = await run(20, 0);
    assert.equal(losses.length, 45);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(Math.max(...losses) > 1e4 * losses[0], `peak ${Math.max(...losses)} vs first ${losses[0]}`);
    assert.ok(losses[losses.length - 1] > 5 * losses[0], `last ${losses[losses.length - 1]} vs first ${losses[0]}`);
  });

  it('by default the same run stops at the exploding step with a DivergenceError (exit code 3) naming the cause', async () => {
    await assert.rejects(run(20), (e: unknown) => {
      assert.ok(e instanceof DivergenceError, String(e));
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /loss exploded to \S+ at epoch 1, step \d+ \(global step \d+\), over 10000× the run's first/);
      assert.match(e.message, /learning rate too high \(20\.0\)/);
      assert.match(e.message, /warm-up/);
      // The report's wording: what happened, in the reader's terms (no step counters, no factor).
      assert.match(e.plain, /^the training loss blew up in epoch 1 at learning rate 20 \(from \S+ at the start to \S+\)$/);
      assert.doesNotMatch(e.plain, /global step|×/);
      return true;
    });
  });

  it('a healthy run with spikes of a few times its first loss is left alone', async () => {
    const losses = await run(0.5);
    assert.equal(losses.length, 45);
    assert.ok(Math.max(...losses) > 2 * losses[0], 'the run this test needs has a spike');
  });

  it('refuses a negative or non-finite factor, naming it', async () => {
    await assert.rejects(run(0.5, -1), /explodeFactor must be a finite number ≥ 0 \(0: off\), got -1/);
    await assert.rejects(run(0.5, Number.NaN), /explodeFactor .* got NaN/);
  });
});
