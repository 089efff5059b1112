/**
 * The paper job's online student: with `student.jitter` in the profile, the headline distilled
 * student learns from the teacher run on every jittered batch (NetworkTeacher), and the same
 * student from the cached targets is reported beside it (results.json `distilledCached`); the α
 * sweep stays with the cached recipe.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NetworkTeacher } from '../../src/distill/online.js';
import { logSoftmaxRows } from '../../src/distill/targets.js';
import { PROFILES } from '../../src/paper/profiles.js';
import { runPaper } from '../../src/paper/run.js';
import type { Results } from '../../src/report/schema.js';
import { validateResults } from '../../src/report/validate.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { Rng } from '../../src/util/rng.js';

test('NetworkTeacher gives the cached soft targets of the same rows (log-softmax of the inference logits)', async () => {
  const D = 30;
  const C = 7;
  const net = Network.create({ spec: 'mlp:16', inputShape: [D], classes: C, options: {} }, 5);
  const rng = new Rng(9);
  const n = 300;
  const ds = { x: new Float32Array(n * D).map(() => rng.float() * 2 - 1), y: new Int32Array(n), n, shape: [D], classes: C, source: 'random' };
  const cached = logSoftmaxRows(await networkLogits(net, ds, { threads: 1 }), n, C, new Float32Array(n * C));
  const t = await NetworkTeacher.create(net, 'test teacher', { threads: 1 });
  try {
    assert.equal(t.classes, C);
    for (const [start, m] of [[0, 128], [128, 128], [256, 44]]) {
      const out = new Float32Array(m * C);
      await t.logits(ds.x.subarray(start * D, (start + m) * D), m, out);
      let worst = 0;
      for (let i = 0; i < m * C; i++) worst = Math.max(worst, Math.abs(out[i] - cached[start * C + i]));
      // Only the batch size differs from the cached pass (1000 rows at once): a few ulps at most.
      assert.ok(worst <= 1e-5, `rows ${start}..${start + m}: differs by ${worst}`);
    }
  } finally {
    await t.release();
  }
});

test('dk paper with student.jitter: the online student and the cached one side by side in results.json and the report', { timeout: 300_000 }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'dk-paper-online-')), 'run');
  try {
    const P = { ...PROFILES.tiny, student: { ...PROFILES.tiny.student, jitter: 1 }, alphaSweep: [0, PROFILES.tiny.alpha, 1] };
    const logs: string[] = [];
    const { results } = await runPaper({ profile: P, out: dir, threads: 1 }, (e) => e.kind === 'log' && logs.push(e.text));
    const raw: unknown = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    validateResults(raw);
    const r = raw as Results;
    assert.deepEqual(r.distilled.testErrors, results.distilled.testErrors);
    assert.ok(r.distilledCached, 'no distilledCached in results.json');
    assert.match(r.distilled.description ?? '', /run on every batch as the student sees it \(jittered by up to 1 px\)/);
    assert.match(r.distilledCached.description ?? '', /cached outputs on the clean images/);
    // Two different trainings (jittered batches vs clean ones): their curves differ.
    assert.notDeepEqual(r.distilled.curve.map((p) => p.trainLoss), r.distilledCached.curve.map((p) => p.trainLoss));
    assert.ok(logs.some((l) => /distilled \d+ \(online teacher, ±1 px\), from cached targets \d+ test errors/.test(l)), logs.join('\n'));
    // The α sweep is of the cached recipe: its point at the profile's α is the cached student.
    const at = r.alphaSweep!.points.find((p) => p.alpha === P.alpha)!;
    assert.equal(at.testErrors, r.distilledCached.testErrors);
    const sig = r.significance!;
    assert.equal(sig.intervals.find((i) => i.name === 'distilled, cached targets')?.testErrors, r.distilledCached.testErrors);
    const pair = sig.comparisons.find((c) => c.a === 'distilled student' && c.b === 'distilled, cached targets');
    assert.deepEqual([pair?.aErrors, pair?.bErrors], [r.distilled.testErrors, r.distilledCached.testErrors]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /The same student, distilled from cached targets/);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
