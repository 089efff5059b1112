/**
 * The main job end to end: `dk paper` (the 'tiny' profile — the same code path as quick/full,
 * on a 3000-example subset so it fits in the test suite) writes a schema-valid results.json
 * and a report that renders in real headless Chromium with every chart drawn and no error.
 * The screenshot is saved in the run directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkReportInBrowser, layoutProblems } from '../../src/report/browser.js';
import { validateResults } from '../../src/report/validate.js';
import { PROFILES } from '../../src/paper/profiles.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('dk paper (tiny profile) writes a valid results.json and a report that renders in Chromium', { timeout: 240_000 }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'dk-paper-')), 'run');
  const r = spawnSync(process.execPath, [CLI, 'paper', '--profile', 'tiny', '--out', dir, '--threads', '1', '--quiet'], { encoding: 'utf8', timeout: 200_000 });
  assert.equal(r.status, 0, `dk paper failed: ${r.stderr}`);
  assert.match(r.stdout, /teacher \d+, hard student \d+, distilled student \d+ test errors/);
  const raw: unknown = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  validateResults(raw);
  const results = raw as unknown as Record<string, any>;
  for (const k of ['teacher', 'hard', 'distilled']) {
    assert.ok(Number.isInteger(results[k].testErrors) && results[k].testErrors >= 0 && results[k].testErrors <= 10000, `${k}.testErrors`);
    // Errors by class, one per digit, summing to the model's errors (validateResults checks the sum too).
    assert.equal(results[k].testErrorsByClass.length, 10, `${k}.testErrorsByClass`);
    assert.equal(results[k].testErrorsByClass.reduce((a: number, b: number) => a + b, 0), results[k].testErrors);
  }
  for (const k of ['omit3', 'only78', 'fraction3', 'tempSweep', 'ensemble']) assert.ok(results[k], `results.${k}`);
  assert.equal(results.omit3.threesInTest, 1010);
  // Each run records the lr it trained at (no run of the tiny profile diverges: no retry notes).
  const P = PROFILES.tiny;
  assert.ok(!(results.notes as string[]).some((n) => n.includes('trained again')), 'a tiny-profile run was retried');
  for (const [k, planned] of [['hard', P.lr], ['distilled', P.lr], ['teacher', P.teacher.lr], ['omit3', P.lr], ['only78', P.lr]] as const) assert.equal(results[k].lr, planned, `${k}.lr`);
  assert.deepEqual(
    results.tempSweep.students.map((s: { lr: number }) => s.lr),
    P.tempSweep.students.map((s) => s.lr ?? P.lr),
  );
  // The ensemble's members record their epochs and recipe: the teacher first, then the profile's.
  assert.deepEqual(
    results.ensemble.members.map((m: { epochs: number }) => m.epochs),
    [P.teacher.epochs, ...P.ensemble.members.map((m) => m.epochs)],
  );
  assert.match(results.ensemble.members[0].recipe, new RegExp(`dropout ${P.teacher.inputDropout} input / ${P.teacher.dropout} hidden`));
  // The intervals and paired tests count the same test errors as the runs (the models' masks
  // are recomputed from their final weights; a mismatch would mean a different model or data).
  const sig = results.significance;
  const iv = new Map<string, { testErrors: number; lo: number; hi: number }>(sig.intervals.map((i: { name: string }) => [i.name, i]));
  assert.equal(iv.get('teacher')?.testErrors, results.teacher.testErrors);
  assert.equal(iv.get('hard student')?.testErrors, results.hard.testErrors);
  assert.equal(iv.get('distilled student')?.testErrors, results.distilled.testErrors);
  assert.equal(iv.get('ensemble')?.testErrors, results.ensemble.ensembleTestErrors);
  assert.equal(iv.get('ensemble’s student')?.testErrors, results.ensemble.student.testErrors);
  const pair = sig.comparisons.find((c: { a: string; b: string }) => c.a === 'distilled student' && c.b === 'hard student');
  assert.deepEqual([pair.aErrors, pair.bErrors], [results.distilled.testErrors, results.hard.testErrors]);
  // The α sweep's own runs are compared with the main α: here α = 1 (α = 0 is the hard run).
  const alpha1 = sig.comparisons.find((c: { a: string }) => c.a === 'α = 1');
  assert.equal(alpha1?.aErrors, results.alphaSweep.points.find((q: { alpha: number }) => q.alpha === 1).testErrors);
  assert.equal(alpha1?.b, `α = ${P.alpha}`);

  const shot = join(dir, 'report.png');
  const check = await checkReportInBrowser(join(dir, 'report.html'), shot);
  assert.ok(check.charts.length >= 6, `expected several charts, found ${check.charts.length}`);
  for (const c of check.charts) {
    assert.ok(c.rendered, `chart ${c.id} did not render`);
    assert.ok(c.points > 0, `chart ${c.id} drew no data`);
  }
  assert.deepEqual(check.consoleErrors, []);
  assert.deepEqual(check.pageErrors, []);
  assert.deepEqual(check.externalRequests, []);
  assert.ok(existsSync(shot));
  assert.deepEqual(layoutProblems(check.layout), [], 'at 1280 px');
  // On a phone: nothing wider than the viewport, every table scrolling in its own container.
  const narrow = await checkReportInBrowser(join(dir, 'report.html'), join(dir, 'report-400.png'), { viewport: { width: 400, height: 900 } });
  assert.deepEqual([...narrow.consoleErrors, ...narrow.pageErrors, ...narrow.externalRequests], []);
  assert.ok(narrow.charts.every((c) => c.rendered), JSON.stringify(narrow.charts.filter((c) => !c.rendered)));
  assert.deepEqual(layoutProblems(narrow.layout), [], 'at 400 px');

  // --seed: the same profile from another seed; the members' seeds move with it.
  const dir2 = join(mkdtempSync(join(tmpdir(), 'dk-paper-seed-')), 'run');
  const r2 = spawnSync(process.execPath, [CLI, 'paper', '--profile', 'tiny', '--seed', '5', '--out', dir2, '--threads', '1', '--quiet'], { encoding: 'utf8', timeout: 200_000 });
  assert.equal(r2.status, 0, `dk paper --seed 5 failed: ${r2.stderr}`);
  const other = JSON.parse(readFileSync(join(dir2, 'results.json'), 'utf8')) as Record<string, any>;
  assert.equal(other.config.seed, 5);
  assert.deepEqual(
    other.ensemble.members.slice(1).map((m: { seed: number }) => m.seed),
    P.ensemble.members.map((m) => m.seed + 5 - P.seed),
  );
  assert.notDeepEqual(other.teacher.curve, results.teacher.curve, 'seed 5 trained the same teacher as seed 1');
});
