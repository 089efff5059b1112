import type { ChartSpec } from './charts.js';
import { COLORS } from './charts.js';
import { gapClosed, targets } from './derive.js';
import type { Results } from './schema.js';

/**
 * Several runs of the paper job that differ only in their seed, summarised: every headline number
 * per seed, with its mean, sample standard deviation and range, and how many seeds agree on each
 * of the paper's qualitative claims. The intervals and paired tests in one run's report say how
 * much its numbers would move on another test set; this says how much they move with the seed
 * (initial weights, batch order, dropout masks, jitter), which they do not cover.
 */

export type SeedFormat = 'int' | 'pct' | 'num';

export interface SeedMetric {
  group: string;
  label: string;
  format: SeedFormat;
  /** One value per run, in `seeds` order; null where the run has no value (e.g. no gap to close). */
  values: (number | null)[];
  /** Over the non-null values; sd is the sample standard deviation (n − 1), null below two values. */
  mean: number | null;
  sd: number | null;
  min: number | null;
  max: number | null;
  /** The paper's number, as text, for context. */
  paper?: string;
}

export interface SeedClaim {
  claim: string;
  /** Runs in which it holds, of `of`. */
  holds: number;
  of: number;
}

export interface SeedsSummary {
  kind: 'dark-knowledge seeds summary';
  version: 1;
  createdAt: string;
  profile: string;
  dataset: { name: string; testSize: number };
  seeds: number[];
  /** Where each run came from (as given), in `seeds` order. */
  sources: string[];
  metrics: SeedMetric[];
  claims: SeedClaim[];
  /** The report's targets (derive.ts), each with the profiles it applies to and the runs that meet it. */
  targets: { target: string; profiles: string[]; met: number; of: number }[];
  /** Wall time of each run, seconds, in `seeds` order. */
  totalSeconds: number[];
}

/** A run and a name for it in error messages (its file, as the user gave it). */
export interface SeedRun {
  source: string;
  results: Results;
}

/** Mean, sample sd (n − 1), min and max of the finite values; nulls when there are none. */
export function describeValues(values: (number | null)[]): Pick<SeedMetric, 'mean' | 'sd' | 'min' | 'max'> {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return { mean: null, sd: null, min: null, max: null };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : null;
  return { mean, sd, min: Math.min(...v), max: Math.max(...v) };
}

const bestPoint = <P extends { testErrors: number }>(points: P[]): P => points.reduce((a, b) => (b.testErrors < a.testErrors ? b : a));

/**
 * Summarise runs of one profile from different seeds. Throws a RangeError naming the sources when
 * there are fewer than two, when they differ in profile or test set, or when two share a seed.
 * Metrics that some runs lack (an α sweep, a student size, a specialists run) are left out.
 */
export function summariseSeeds(runs: SeedRun[], createdAt = new Date().toISOString()): SeedsSummary {
  if (runs.length < 2) throw new RangeError(`a seeds summary needs at least two runs, got ${runs.length}`);
  const first = runs[0];
  for (const r of runs.slice(1)) {
    const a = first.results;
    const b = r.results;
    if (b.config.profile !== a.config.profile) {
      throw new RangeError(`${r.source}: profile '${b.config.profile}', but ${first.source} is '${a.config.profile}'; summarise runs of one profile`);
    }
    if (b.dataset.name !== a.dataset.name || b.dataset.testSize !== a.dataset.testSize) {
      throw new RangeError(
        `${r.source}: test set ${b.dataset.name} (${b.dataset.testSize}), but ${first.source} has ${a.dataset.name} (${a.dataset.testSize})`,
      );
    }
  }
  const bySeed = new Map<number, string>();
  for (const r of runs) {
    const other = bySeed.get(r.results.config.seed);
    if (other !== undefined) throw new RangeError(`${r.source} and ${other} are both seed ${r.results.config.seed}; each run must have its own seed`);
    bySeed.set(r.results.config.seed, r.source);
  }
  const sorted = [...runs].sort((x, y) => x.results.config.seed - y.results.config.seed);
  const rs = sorted.map((r) => r.results);
  const p = rs[0].paper;

  const metrics: SeedMetric[] = [];
  const add = (group: string, label: string, format: SeedFormat, pick: (r: Results) => number | null | undefined, paper?: string): void => {
    const values = rs.map(pick);
    if (values.some((v) => v === undefined)) return; // not in every run
    const vs = values as (number | null)[];
    metrics.push({ group, label, format, values: vs, ...describeValues(vs), ...(paper === undefined ? {} : { paper }) });
  };
  const pctText = (x: number): string => `${+(100 * x).toFixed(1)}%`;
  const g = 'MNIST (§3)';
  add(g, 'Teacher, test errors', 'int', (r) => r.teacher.testErrors, String(p.teacherTestErrors));
  add(g, 'Student, hard labels', 'int', (r) => r.hard.testErrors, String(p.hardTestErrors));
  add(g, 'Student, distilled', 'int', (r) => r.distilled.testErrors, String(p.distilledTestErrors));
  add(g, 'Gap closed by distillation', 'pct', (r) => gapClosed(r.hard.testErrors, r.teacher.testErrors, r.distilled.testErrors), pctText(gapClosed(p.hardTestErrors, p.teacherTestErrors, p.distilledTestErrors) ?? 0));
  const alphas = rs[0].alphaSweep?.points.map((q) => q.alpha) ?? [];
  for (const al of alphas) add('α sweep', `α = ${al}`, 'int', (r) => r.alphaSweep?.points.find((q) => q.alpha === al)?.testErrors);
  add('Omitted 3', 'Errors, no 3s in the transfer set', 'int', (r) => r.omit3.before.testErrors, String(p.omit3.before.testErrors));
  add('Omitted 3', '… of them on 3s', 'int', (r) => r.omit3.before.threeErrors, String(p.omit3.before.threeErrors));
  add('Omitted 3', 'Errors after the bias fix', 'int', (r) => r.omit3.after.testErrors, String(p.omit3.after.testErrors));
  add('Omitted 3', 'Threes right after the bias fix', 'pct', (r) => 1 - r.omit3.after.threeErrors / r.omit3.threesInTest, pctText(1 - p.omit3.after.threeErrors / rs[0].omit3.threesInTest));
  add('Omitted 3', 'Bias offset (chosen on held-out data)', 'num', (r) => r.omit3.offset, `+${p.omit3.offset}`);
  add('Only 7s and 8s', 'Error rate', 'pct', (r) => r.only78.before.errorRate, pctText(p.only78.errorRateBefore));
  add('Only 7s and 8s', 'Error rate after lowering their biases', 'pct', (r) => r.only78.after.errorRate, pctText(p.only78.errorRateAfter));
  const frac = `${+(100 * rs[0].fraction3.fraction).toFixed(1)}% of the data`;
  add(frac, 'Hard targets, test accuracy', 'pct', (r) => r.fraction3.hard.testAccuracy, `${pctText(p.fraction3.hard.testAccuracy)} (speech)`);
  add(frac, 'Soft targets, test accuracy', 'pct', (r) => r.fraction3.soft.testAccuracy, `${pctText(p.fraction3.soft.testAccuracy)} (speech)`);
  for (const s of rs[0].tempSweep.students) {
    const find = (r: Results) => r.tempSweep.students.find((x) => x.hiddenUnits === s.hiddenUnits);
    add('Temperature', `Best T, ${s.hiddenUnits} units per layer`, 'num', (r) => {
      const x = find(r);
      return x && bestPoint(x.points).T;
    });
    add('Temperature', `… its test errors`, 'int', (r) => {
      const x = find(r);
      return x && bestPoint(x.points).testErrors;
    });
  }
  add('Ensemble', 'Ensemble, test errors', 'int', (r) => r.ensemble.ensembleTestErrors);
  add('Ensemble', 'Its distilled student', 'int', (r) => r.ensemble.student.testErrors);
  add('Ensemble', 'Share of the gain the student keeps', 'pct', (r) => r.ensemble.gainKept, `${pctText(p.ensemble.gainKept)} (speech)`);
  const nSpec = Math.min(...rs.map((r) => r.specialists?.runs.length ?? 0));
  for (let i = 0; i < nSpec; i++) {
    const name = rs[0].specialists!.runs[i].dataset;
    if (!rs.every((r) => r.specialists!.runs[i].dataset === name)) continue;
    const tag = nSpec > 1 ? ` (${name})` : '';
    add('Specialists', `Generalist, test errors${tag}`, 'int', (r) => r.specialists!.runs[i].generalist.errors);
    add('Specialists', `With specialists${tag}`, 'int', (r) => r.specialists!.runs[i].combined.errors);
  }
  add('Run', 'Wall time, minutes', 'num', (r) => r.timings.totalSeconds / 60);

  const claims: SeedClaim[] = [];
  const claim = (text: string, holds: (r: Results) => boolean): void => {
    claims.push({ claim: text, holds: rs.filter(holds).length, of: rs.length });
  };
  claim('the distilled student makes fewer errors than the hard one', (r) => r.distilled.testErrors < r.hard.testErrors);
  claim('the teacher makes fewer errors than the distilled student', (r) => r.teacher.testErrors < r.distilled.testErrors);
  claim('raising the bias of 3 reduces the errors on threes', (r) => r.omit3.after.threeErrors < r.omit3.before.threeErrors);
  claim('lowering the biases of 7 and 8 reduces the error rate', (r) => r.only78.after.errorRate < r.only78.before.errorRate);
  claim(`on ${frac}, soft targets beat hard ones on the test set`, (r) => r.fraction3.soft.testAccuracy > r.fraction3.hard.testAccuracy);
  const baseline = rs[0].ensemble.baseline.label; // the single model the ensemble's gain is measured from
  claim(`the ensemble beats its baseline, ${baseline}`, (r) => r.ensemble.ensembleTestErrors < r.ensemble.baseline.testErrors);
  claim(`the ensemble’s student beats that baseline`, (r) => r.ensemble.student.testErrors < r.ensemble.baseline.testErrors);
  if (nSpec > 0) claim('specialists reduce the generalist’s errors', (r) => r.specialists!.runs.every((s) => s.combined.errors < s.generalist.errors));

  const perRun = rs.map(targets);
  return {
    kind: 'dark-knowledge seeds summary',
    version: 1,
    createdAt,
    profile: rs[0].config.profile,
    dataset: { name: rs[0].dataset.name, testSize: rs[0].dataset.testSize },
    seeds: rs.map((r) => r.config.seed),
    sources: sorted.map((r) => r.source),
    metrics,
    claims,
    targets: perRun[0].map((t, i) => ({ target: t.label, profiles: t.profiles, met: perRun.filter((ts) => ts[i].met).length, of: rs.length })),
    totalSeconds: rs.map((r) => r.timings.totalSeconds),
  };
}

/** The page's charts: each seed's three main models, and each seed's share of the gap closed. */
export function seedsCharts(s: SeedsSummary, rs: Results[]): ChartSpec[] {
  const labels = s.seeds.map((x) => `seed ${x}`);
  const p = rs[0].paper;
  const models: ChartSpec = {
    id: 'seeds-models',
    kind: 'bar',
    labels,
    series: [
      { label: 'teacher', color: COLORS.teacher, data: rs.map((r) => r.teacher.testErrors) },
      { label: 'hard student', color: COLORS.hard, data: rs.map((r) => r.hard.testErrors) },
      { label: 'distilled student', color: COLORS.distilled, data: rs.map((r) => r.distilled.testErrors) },
    ],
    x: { title: '', type: 'category' },
    y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true },
    legend: true,
  };
  const gaps = rs.map((r) => gapClosed(r.hard.testErrors, r.teacher.testErrors, r.distilled.testErrors));
  const paperGap = gapClosed(p.hardTestErrors, p.teacherTestErrors, p.distilledTestErrors) ?? 0;
  const gap: ChartSpec = {
    id: 'seeds-gap',
    kind: 'bar',
    labels,
    series: [{ label: 'gap closed', color: COLORS.distilled, data: gaps }],
    x: { title: '', type: 'category' },
    y: { title: 'share of the hard → teacher gap', type: 'linear', format: 'pct', beginAtZero: true, suggestedMax: 1 },
    marks: [{ axis: 'y', value: paperGap, label: `paper ${Math.round(100 * paperGap)}%`, color: COLORS.paper }],
    legend: false,
  };
  return [models, gap];
}
