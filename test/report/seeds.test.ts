import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml } from '../../src/report/escape.js';
import type { Results } from '../../src/report/schema.js';
import { describeValues, summariseSeeds, type SeedRun } from '../../src/report/seeds.js';
import { fmtSeedValue, isChoice, renderSeedsReport } from '../../src/report/seeds-html.js';
import { Rng } from '../../src/util/rng.js';
import { seedRun } from './seed-runs.js';

const runs = (...rs: Results[]): SeedRun[] => rs.map((results, i) => ({ source: `run${i}.json`, results }));

test('describeValues: mean, sample sd, min and max against a plain float64 reference', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 2 + rng.int(9);
    const v = Array.from({ length: n }, () => 50 + 200 * rng.float());
    // Reference: Welford's one-pass update, a different computation from describeValues' two passes.
    let mean = 0;
    let m2 = 0;
    v.forEach((x, i) => {
      const d = x - mean;
      mean += d / (i + 1);
      m2 += d * (x - mean);
    });
    const got = describeValues(v);
    assert.ok(Math.abs(got.mean! - mean) <= 1e-12 * Math.abs(mean), `mean ${got.mean} vs ${mean}`);
    const sd = Math.sqrt(m2 / (n - 1));
    assert.ok(Math.abs(got.sd! - sd) <= 1e-9 * sd, `sd ${got.sd} vs ${sd}`);
    assert.equal(got.min, Math.min(...v));
    assert.equal(got.max, Math.max(...v));
  }
  // Nulls are skipped; one value has no sd; none has nothing.
  assert.deepEqual(describeValues([3, null, 5]), { mean: 4, sd: Math.SQRT2, min: 3, max: 5 });
  assert.deepEqual(describeValues([7, null]), { mean: 7, sd: null, min: 7, max: 7 });
  assert.deepEqual(describeValues([null]), { mean: null, sd: null, min: null, max: null });
});

test('summariseSeeds orders the runs by seed and summarises each headline number', () => {
  const s = summariseSeeds(runs(seedRun(3, 70, 150, 95), seedRun(1, 76, 144, 97), seedRun(2, 78, 140, 150)), 'now');
  assert.deepEqual(s.seeds, [1, 2, 3]);
  assert.deepEqual(s.sources, ['run1.json', 'run2.json', 'run0.json']);
  const m = (label: string) => s.metrics.find((x) => x.label === label)!;
  assert.deepEqual(m('Teacher, test errors').values, [76, 78, 70]);
  assert.equal(m('Teacher, test errors').mean, 74.66666666666667);
  assert.equal(m('Student, hard labels').min, 140);
  assert.equal(m('Student, distilled').max, 150);
  // Gap closed: (hard − distilled) / (hard − teacher) per run; seed 2's distilled student is worse than the hard one.
  const gap = m('Gap closed by distillation').values;
  assert.ok(Math.abs(gap[0]! - 47 / 68) < 1e-15 && Math.abs(gap[1]! - -10 / 62) < 1e-15 && Math.abs(gap[2]! - 55 / 80) < 1e-15);
  // The claims count the runs they hold in.
  const c = (start: string) => s.claims.find((x) => x.claim.startsWith(start))!;
  assert.deepEqual([c('the distilled student makes fewer').holds, c('the distilled student makes fewer').of], [2, 3]);
  assert.equal(c('the teacher makes fewer').holds, 3);
  // The targets count the runs that meet them: teacher ≤ 75 in seed 3 only, distilled ≤ 90 in none.
  const tg = (start: string) => s.targets.find((x) => x.target.startsWith(start))!;
  assert.deepEqual([tg('Teacher ≤ 75').met, tg('Teacher ≤ 75').of], [1, 3]);
  assert.equal(tg('Distilled student ≤ 90').met, 0);
  assert.equal(tg('Distilled student beats').met, 2);
  assert.deepEqual(tg('Teacher ≤ 75').profiles, ['full']);
  assert.equal(s.profile, 'example');
  assert.equal(s.createdAt, 'now');
});

test('a number that some runs lack is left out; a run with no gap to close gets null there', () => {
  const a = seedRun(1, 76, 144, 97);
  const b = seedRun(2, 150, 144, 97); // a teacher worse than the hard student: no gap
  delete b.alphaSweep;
  const s = summariseSeeds(runs(a, b));
  assert.ok(!s.metrics.some((x) => x.group === 'α sweep'), 'α rows with one run lacking the sweep');
  const gap = s.metrics.find((x) => x.label === 'Gap closed by distillation')!;
  assert.equal(gap.values[1], null);
  assert.equal(gap.mean, gap.values[0]);
  assert.equal(gap.sd, null);
  // With the sweep in both runs, every α is a row.
  const s2 = summariseSeeds(runs(a, seedRun(2, 70, 140, 90)));
  assert.deepEqual(
    s2.metrics.filter((x) => x.group === 'α sweep').map((x) => x.label),
    a.alphaSweep!.points.map((p) => `α = ${p.alpha}`),
  );
});

test('runs that cannot be compared are refused by name', () => {
  const a = seedRun(1, 76, 144, 97);
  assert.throws(() => summariseSeeds(runs(a)), /at least two runs, got 1/);
  assert.throws(() => summariseSeeds(runs(a, seedRun(1, 70, 140, 90))), /run1\.json and run0\.json are both seed 1/);
  const q = seedRun(2, 70, 140, 90);
  q.config.profile = 'quick';
  assert.throws(() => summariseSeeds(runs(a, q)), /run1\.json: profile 'quick', but run0\.json is 'example'/);
  const t = seedRun(2, 70, 140, 90);
  t.dataset.testSize = 5000;
  t.teacher.testAccuracy = 1 - 70 / 5000;
  assert.throws(() => summariseSeeds(runs(a, t)), /run1\.json: test set mnist \(5000\)/);
});

test('the page holds every metric row, every seed column and escapes the sources', () => {
  const rs = [seedRun(1, 76, 144, 97), seedRun(2, 78, 140, 90)];
  const s = summariseSeeds([
    { source: '<b>one</b>.json', results: rs[0] },
    { source: 'two.json', results: rs[1] },
  ]);
  const html = renderSeedsReport(s, rs);
  assert.ok(html.includes('&lt;b&gt;one&lt;/b&gt;.json') && !html.includes('<b>one</b>'));
  assert.ok(html.includes('<th class="num">seed 1</th>') && html.includes('<th class="num">seed 2</th>'));
  for (const m of s.metrics) assert.ok(html.includes(`<td>${escapeHtml(m.label)}</td>`), m.label);
  assert.match(html, /<b>Example data\.<\/b>/); // the example's numbers are labelled as such
  assert.ok(html.includes('77.0 ± 1.4'), 'teacher mean ± sd'); // 76, 78: sd √2
  assert.throws(() => renderSeedsReport(s, [rs[0]]), /no run for seed 2/);
});

test('values are formatted with a minus sign, percentages ×100, counts with separators', () => {
  assert.equal(fmtSeedValue('pct', -0.195), '−19.5%');
  assert.equal(fmtSeedValue('int', 10000), '10,000');
  assert.equal(fmtSeedValue('num', 2.3333333), '2.33');
  assert.equal(fmtSeedValue('int', null), '—');
});

test('the seeds page gives no mean ± sd of choices each run made (best T, the chosen offset), only the values per seed', () => {
  const rs = [seedRun(1, 76, 144, 97), seedRun(2, 78, 140, 90)];
  const s = summariseSeeds(rs.map((results, i) => ({ source: `s${i + 1}/results.json`, results })));
  const choices = s.metrics.filter(isChoice);
  assert.ok(choices.some((m) => m.label.startsWith('Best T')), choices.map((m) => m.label).join());
  const html = renderSeedsReport(s, rs);
  for (const m of choices) {
    const row = new RegExp(`<td>${m.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</td>(.*?)</tr>`).exec(html)?.[1] ?? '';
    assert.match(row, /a choice: per seed/, m.label);
    assert.doesNotMatch(row, /±/, m.label);
  }
  assert.match(html, /±/, 'other rows keep their mean ± sd');
});
