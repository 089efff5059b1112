import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { specialistSeed, threadsPerWorker, trainSpecialists } from '../../src/specialists/workers.js';

test('thread budget per worker and per-group seeds', () => {
  assert.equal(threadsPerWorker(2, 2), 1);
  assert.equal(threadsPerWorker(2, 3), 1);
  assert.equal(threadsPerWorker(8, 3), 2);
  assert.equal(threadsPerWorker(4, 1), 4);
  assert.equal(specialistSeed(1, [2, 5]), specialistSeed(1, [2, 5]));
  assert.notEqual(specialistSeed(1, [2, 5]), specialistSeed(1, [2, 6]));
  assert.notEqual(specialistSeed(1, [2, 5]), specialistSeed(2, [2, 5]));
});

test('specialists trained in 2 worker threads equal those trained in this thread', async () => {
  const C = 4;
  const D = 5;
  const g = Network.create({ spec: 'mlp:6', inputShape: [D], classes: C, options: {} }, 2);
  const rng = new Rng(3);
  const n = 120;
  const x = new Float32Array(n * D).map(() => rng.float());
  const y = Int32Array.from({ length: n }, (_, i) => i % C);
  const train = { x, y, n, shape: [D], classes: C, source: 'tiny' };
  const logits = await networkLogits(g, train, { threads: 1 });
  const base = {
    generalist: g.toOnnx(),
    groups: [[0, 1], [2, 3], [1, 3]],
    train,
    generalistLogits: logits,
    config: { ...DEFAULT_TRAIN, epochs: 2, batch: 16, loss: 'hard' as const, alpha: 0, seed: 7 },
    threads: 1,
  };
  const events: ProgressEvent[] = [];
  const par = await trainSpecialists({ ...base, workers: 2, threads: 2, progress: (e) => events.push(e) });
  const seq = await trainSpecialists({ ...base, workers: 0 });
  assert.equal(par.length, 3);
  par.forEach((r, i) => {
    assert.deepEqual(r.group, base.groups[i]);
    assert.equal(r.seed, specialistSeed(7, base.groups[i]));
    assert.equal(r.history.length, 2);
    assert.deepEqual(Buffer.from(r.onnx), Buffer.from(seq[i].onnx), `specialist ${i}: same bytes in a worker and in-thread`);
  });
  // One progress bar per specialist, started and stopped.
  for (let i = 0; i < 3; i++) {
    assert.ok(events.some((e) => e.kind === 'start' && e.id === `specialist-${i}`));
    assert.ok(events.some((e) => e.kind === 'stop' && e.id === `specialist-${i}`));
  }
});

test('a failing specialist cancels the others still running, with a one-line message', async () => {
  const C = 4;
  const D = 20;
  const g = Network.create({ spec: 'mlp:64', inputShape: [D], classes: C, options: {} }, 2);
  const rng = new Rng(5);
  const n = 4000;
  const x = new Float32Array(n * D).map(() => rng.float());
  const y = Int32Array.from({ length: n }, (_, i) => i % C);
  const train = { x, y, n, shape: [D], classes: C, source: 'tiny' };
  const logits = await networkLogits(g, train, { threads: 1 });
  const epochs = 400; // long enough that, uncancelled, its last epoch would be logged
  const events: ProgressEvent[] = [];
  await assert.rejects(
    trainSpecialists({
      generalist: g.toOnnx(),
      // The second group names a class the generalist does not have: that specialist fails at once.
      groups: [[0, 1], [2, 9]],
      train,
      generalistLogits: logits,
      config: { ...DEFAULT_TRAIN, epochs, batch: 16, loss: 'hard' as const, alpha: 0, seed: 7 },
      workers: 2,
      threads: 2,
      progress: (e) => events.push(e),
    }),
    (e: Error) => e.name !== 'Cancelled' && /9/.test(e.message),
  );
  const logs = events.flatMap((e) => (e.kind === 'log' ? [e.text] : []));
  const cancelLines = logs.filter((t) => /failed \(.*\); cancelling the others$/.test(t));
  assert.equal(cancelLines.length, 1, logs.join('\n'));
  assert.ok(!cancelLines[0].includes('\n'));
  assert.ok(cancelLines[0].startsWith('specialist-1 {2,9} failed'));
  // The healthy specialist never finished its epochs.
  assert.ok(!logs.some((t) => t.includes(`epoch ${epochs}/${epochs}`)), 'specialist-0 ran to the end: not cancelled');
});
