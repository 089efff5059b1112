import type { Results } from './schema.js';
import { errorInterval } from '../util/stats.js';

/**
 * Chart specifications: plain JSON built here (typed, testable) and turned into Chart.js
 * configurations by the page's script (client.ts), which adds what JSON cannot hold (tick
 * formatters, the annotation plugin).
 */

export type Format = 'int' | 'num' | 'pct' | 'prob' | 'sec';

export interface AxisSpec {
  title: string;
  type: 'linear' | 'logarithmic' | 'category';
  format?: Format;
  min?: number;
  max?: number;
  /** Explicit tick values (log axes look better with them). */
  ticks?: number[];
  beginAtZero?: boolean;
  /** Range hints: the axis reaches at least this far, with nice tick bounds. */
  suggestedMin?: number;
  suggestedMax?: number;
  stepSize?: number;
}

export interface XY {
  x: number;
  y: number | null;
}

/** A floating bar from the first value to the second (bar charts). */
export type Range = [number, number];

export interface SeriesSpec {
  label: string;
  /** Values for category charts, {x, y} points for numeric x axes, [from, to] for floating bars. */
  data: (number | null)[] | XY[] | Range[];
  color: string | string[];
  /** Lines: dashed, or dotted (a third kind of line beside solid and dashed). */
  dashed?: boolean | 'dotted';
  axis?: 'y' | 'y2';
  pointRadius?: number;
  /** Bars: drawn across the whole category slot, over the other series, rather than beside them. */
  overlay?: boolean;
  /** Bars: thickness in pixels. */
  barThickness?: number;
  /** Floating bars: the tooltip shows the range (default) or its midpoint. */
  tooltip?: 'range' | 'mid';
  /** Lines: the lower or upper edge of a shaded band (the upper one is filled down to the series before it); no line, no markers. */
  area?: 'lower' | 'upper';
}

export interface LineMark {
  axis: 'x' | 'y';
  /** Where a horizontal mark's label sits: at the right end (default) or the left. */
  labelAt?: 'start' | 'end';
  value: number;
  label: string;
  color: string;
}

export interface BandMark {
  from: number;
  to: number;
  label: string;
  color: string;
}

export interface ChartSpec {
  id: string;
  kind: 'line' | 'bar';
  labels?: string[];
  series: SeriesSpec[];
  x: AxisSpec;
  y: AxisSpec;
  y2?: AxisSpec;
  horizontal?: boolean;
  marks?: LineMark[];
  bands?: BandMark[];
  legend?: boolean;
  /** The page's log/linear toggle switches this chart's value axis. */
  logToggle?: boolean;
}

export const COLORS = {
  teacher: '#4f46e5',
  hard: '#e11d48',
  distilled: '#059669',
  paper: '#94a3b8',
  amber: '#d97706',
  sky: '#0284c7',
  violet: '#7c3aed',
  ink: '#334155',
};

/** Temperatures get a dark-to-light indigo ramp ending in amber for the hottest. */
export function temperatureColors(n: number): string[] {
  const ramp = ['#1e1b4b', '#3730a3', '#6366f1', '#a5b4fc', '#f59e0b', '#fb923c'];
  if (n <= 1) return [ramp[2]];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? '#f59e0b' : ramp[Math.min(3, Math.round((i * 3) / Math.max(1, n - 2)))]));
}

/** Number of finite values in a chart's series: what the page should report as data-points. */
export function countPoints(spec: ChartSpec): number {
  let n = 0;
  for (const s of spec.series) {
    for (const d of s.data as (number | null | XY | Range)[]) {
      if (Array.isArray(d)) {
        if (d.every((v) => Number.isFinite(v))) n++;
        continue;
      }
      const v = d !== null && typeof d === 'object' ? d.y : d;
      if (typeof v === 'number' && Number.isFinite(v)) n++;
    }
  }
  return n;
}

const logTicks = (lo: number, hi: number): number[] => {
  const out: number[] = [];
  const mult = hi / lo < 20 ? [1, 1.5, 2, 3, 5, 7] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mult) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
};

function trainingCharts(r: Results): ChartSpec[] {
  const runs = [
    { key: 'teacher', label: 'teacher', run: r.teacher, color: COLORS.teacher, paper: r.paper.teacherTestErrors },
    { key: 'hard', label: 'student, hard labels', run: r.hard, color: COLORS.hard, paper: r.paper.hardTestErrors },
    { key: 'distilled', label: `student, distilled (T = ${r.distilled.T})`, run: r.distilled, color: COLORS.distilled, paper: r.paper.distilledTestErrors },
  ];
  const all = runs.flatMap((q) => q.run.curve.map((p) => p.testErrors)).concat(runs.map((q) => q.paper)).filter((v) => v > 0);
  const lo = Math.max(1, Math.min(...all) * 0.85);
  const hi = Math.max(...all) * 1.1;
  // The runs' objectives differ in scale (the distilled loss carries the T²-weighted soft term,
  // hundreds of times the others): each is drawn relative to its own first epoch, so all move.
  const relative = runs.every((q) => q.run.curve[0].trainLoss > 0);
  const lossOf = (q: (typeof runs)[number], v: number): number => (relative ? v / q.run.curve[0].trainLoss : v);
  const lossValues = runs.flatMap((q) => q.run.curve.map((p) => lossOf(q, p.trainLoss)));
  const lossHi = Math.max(...lossValues);
  return [
    {
      id: 'curves-errors',
      kind: 'line',
      series: runs.map((q) => ({ label: q.label, color: q.color, data: q.run.curve.map((p) => ({ x: p.epoch, y: p.testErrors })) })),
      x: { title: 'epoch', type: 'linear', format: 'int', min: 1 },
      y: { title: 'test errors (of 10,000, log scale)', type: 'logarithmic', format: 'int', min: lo, max: hi, ticks: logTicks(lo, hi) },
      marks: runs.map((q) => ({ axis: 'y' as const, value: q.paper, label: `paper ${q.paper}`, color: q.color, labelAt: 'start' as const })),
      legend: true,
    },
    {
      id: 'curves-loss',
      kind: 'line',
      series: runs.map((q) => ({ label: q.label, color: q.color, data: q.run.curve.map((p) => ({ x: p.epoch, y: lossOf(q, p.trainLoss) })) })),
      x: { title: 'epoch', type: 'linear', format: 'int', min: 1 },
      y: relative
        ? { title: 'training loss, % of epoch 1', type: 'linear', format: 'pct', min: 0, suggestedMax: Math.max(1, lossHi) }
        : { title: 'training loss', type: 'linear', format: 'num' },
      legend: true,
    },
  ];
}

function omitCharts(r: Results): ChartSpec[] {
  const o = r.omit3;
  const out: ChartSpec[] = [
    {
      id: 'omit3',
      kind: 'line',
      series: [
        { label: `errors on the ${o.threesInTest.toLocaleString('en-US')} threes`, color: COLORS.amber, data: o.curve.map((p) => ({ x: p.offset, y: p.threeErrors })) },
        { label: 'all test errors', color: COLORS.teacher, data: o.curve.map((p) => ({ x: p.offset, y: p.testErrors })) },
        ...(o.curve.some((p) => p.heldOutErrors !== undefined)
          ? [{ label: 'held-out errors (what chose the offset)', color: COLORS.paper, dashed: true, data: o.curve.map((p) => ({ x: p.offset, y: p.heldOutErrors ?? null })) }]
          : []),
      ],
      x: { title: 'offset added to the bias of class 3', type: 'linear', format: 'num' },
      y: { title: 'errors', type: 'linear', format: 'int', beginAtZero: true },
      marks: [
        { axis: 'x', value: o.offset, label: `chosen +${o.offset}`, color: COLORS.distilled },
        { axis: 'x', value: r.paper.omit3.offset, label: `paper +${r.paper.omit3.offset}`, color: COLORS.paper },
      ],
      legend: true,
    },
  ];
  const q = r.only78;
  out.push({
    id: 'only78',
    kind: 'bar',
    labels: ['as trained', `biases of 7 and 8 lowered`],
    series: [
      { label: 'ours', color: COLORS.distilled, data: [q.before.errorRate, q.after.errorRate] },
      { label: 'paper', color: COLORS.paper, data: [r.paper.only78.errorRateBefore, r.paper.only78.errorRateAfter] },
    ],
    x: { title: '', type: 'category' },
    y: { title: 'test error rate', type: 'linear', format: 'pct', beginAtZero: true },
    legend: true,
  });
  if (q.curve) {
    out.push({
      id: 'only78-curve',
      kind: 'line',
      series: [{ label: 'test errors', color: COLORS.teacher, data: q.curve.map((p) => ({ x: p.offset, y: p.testErrors })) }],
      x: { title: 'amount subtracted from the biases of 7 and 8', type: 'linear', format: 'num' },
      y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true },
      marks: [
        { axis: 'x', value: q.offset, label: `chosen −${q.offset}`, color: COLORS.distilled },
        { axis: 'x', value: r.paper.only78.offset, label: `paper −${r.paper.only78.offset}`, color: COLORS.paper },
      ],
      legend: false,
    });
  }
  return out;
}

function fraction3Chart(r: Results): ChartSpec {
  const f = r.fraction3;
  // Error rates on a log axis: 7% vs 3.5% at the end is as visible as 80% at the start.
  const held = [...f.hard.curve, ...f.soft.curve].every((p) => p.heldOutAccuracy !== undefined);
  const errs = [...f.hard.curve, ...f.soft.curve].flatMap((p) => [1 - p.testAccuracy, 1 - p.trainAccuracy, ...(held ? [1 - p.heldOutAccuracy!] : [])]).filter((v) => v > 0);
  const errLo = Math.max(1e-4, Math.min(...errs) * 0.8);
  const errHi = Math.min(1, Math.max(...errs) * 1.2);
  const line = (label: string, color: string, pts: { epoch: number; v: number }[], dashed: SeriesSpec['dashed'] = false): SeriesSpec => ({
    label,
    color,
    dashed,
    data: pts.map((p) => ({ x: p.epoch, y: p.v > 0 ? p.v : null })), // an error rate of 0 has no place on a log axis
  });
  return {
    id: 'fraction3',
    kind: 'line',
    series: [
      line('hard targets, test', COLORS.hard, f.hard.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.testAccuracy }))),
      line('hard targets, train', COLORS.hard, f.hard.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.trainAccuracy })), true),
      line('soft targets, test', COLORS.distilled, f.soft.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.testAccuracy }))),
      line('soft targets, train', COLORS.distilled, f.soft.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.trainAccuracy })), true),
      // The held-out split chose the epoch kept (early stopping): drawn beside the test curves.
      ...(held
        ? [
            line('hard targets, held-out', COLORS.hard, f.hard.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.heldOutAccuracy! })), 'dotted'),
            line('soft targets, held-out', COLORS.distilled, f.soft.curve.map((p) => ({ epoch: p.epoch, v: 1 - p.heldOutAccuracy! })), 'dotted'),
          ]
        : []),
    ],
    x: { title: 'epoch', type: 'linear', format: 'int', min: 1 },
    y: { title: 'error rate (log scale)', type: 'logarithmic', format: 'pct', min: errLo, max: errHi, ticks: logTicks(errLo, errHi) },
    marks: [
      { axis: 'x', value: f.hard.stoppedEpoch, label: `hard: epoch ${f.hard.stoppedEpoch} kept`, color: COLORS.hard },
      ...(f.soft.stoppedEpoch !== f.soft.epochs ? [{ axis: 'x' as const, value: f.soft.stoppedEpoch, label: `soft: epoch ${f.soft.stoppedEpoch} kept`, color: COLORS.distilled }] : []),
    ],
    legend: true,
  };
}

/** The exact 95% interval of each point's test errors, as a shaded band (two series, lower then upper). */
function intervalBand(points: { x: number; testErrors: number }[], n: number, color: string): SeriesSpec[] {
  const iv = points.map((q) => ({ x: q.x, ...errorInterval(q.testErrors, n) }));
  return [
    { label: '95% interval, low', color, area: 'lower', data: iv.map((q) => ({ x: q.x, y: q.lo })) },
    { label: '95% interval, high', color, area: 'upper', data: iv.map((q) => ({ x: q.x, y: q.hi })) },
  ];
}

function tempCharts(r: Results): ChartSpec[] {
  const p = r.paper.tempSweep;
  return r.tempSweep.students.map((s) => {
    const Ts = s.points.map((q) => q.T);
    const lo = Math.min(...Ts);
    const hi = Math.max(...Ts);
    const marks: LineMark[] = s.hardTestErrors === undefined ? [] : [{ axis: 'y', value: s.hardTestErrors, label: `hard labels ${s.hardTestErrors}`, color: COLORS.hard }];
    const bands: BandMark[] =
      s.hiddenUnits <= p.smallUnits
        ? [{ from: p.smallBestT[0], to: p.smallBestT[1], label: `paper's best T (${p.smallUnits} units)`, color: 'rgba(217,119,6,0.12)' }]
        : s.hiddenUnits >= p.largeUnits
          ? [{ from: Math.max(lo, p.largeMinT), to: hi, label: `paper: any T > ${p.largeMinT}`, color: 'rgba(79,70,229,0.08)' }]
          : [];
    const errs = s.points.flatMap((q) => Object.values(errorInterval(q.testErrors, r.dataset.testSize))).concat(s.hardTestErrors ?? []);
    return {
      id: `temp-${s.hiddenUnits}`,
      kind: 'line' as const,
      series: [
        ...intervalBand(s.points.map((q) => ({ x: q.T, testErrors: q.testErrors })), r.dataset.testSize, 'rgba(5,150,105,0.16)'),
        { label: `${s.arch}, distilled`, color: COLORS.distilled, data: s.points.map((q) => ({ x: q.T, y: q.testErrors })), pointRadius: 4 },
      ],
      x: { title: 'temperature T (log scale)', type: 'logarithmic' as const, format: 'num' as const, min: lo, max: hi, ticks: logTicks(lo, hi) },
      y: { title: 'test errors', type: 'linear' as const, format: 'int' as const, suggestedMin: Math.min(...errs) * 0.95, suggestedMax: Math.max(...errs) * 1.04 },
      marks,
      bands,
      legend: false,
    };
  });
}

function ensembleChart(r: Results): ChartSpec {
  const e = r.ensemble;
  const short = (s: string): string => (s.length > 16 ? `${s.slice(0, 15)}…` : s);
  const labels = [...e.members.map((m) => short(m.name)), 'baseline', 'ensemble', 'distilled'];
  const colors = [...e.members.map(() => COLORS.teacher), COLORS.hard, COLORS.violet, COLORS.distilled];
  return {
    id: 'ensemble',
    kind: 'bar',
    labels,
    series: [{ label: 'test errors', color: colors, data: [...e.members.map((m) => m.testErrors), e.baseline.testErrors, e.ensembleTestErrors, e.student.testErrors] }],
    x: { title: '', type: 'category' },
    y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true },
    legend: false,
  };
}

/** The three main models' test errors by true class, where results.json records them. */
function byClassChart(r: Results): ChartSpec | null {
  const t = r.teacher.testErrorsByClass, h = r.hard.testErrorsByClass, d = r.distilled.testErrorsByClass;
  if (!t || !h || !d) return null;
  const names = r.darkKnowledge.classNames;
  return {
    id: 'by-class',
    kind: 'bar',
    labels: t.map((_, k) => names[k] ?? String(k)),
    series: [
      { label: 'teacher', color: COLORS.teacher, data: t },
      { label: 'hard student', color: COLORS.hard, data: h },
      { label: 'distilled student', color: COLORS.distilled, data: d },
    ],
    x: { title: 'true class', type: 'category' },
    y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true },
  };
}

/** Each model's test errors with the interval around them (results.significance). */
function intervalsChart(r: Results): ChartSpec | null {
  const sig = r.significance;
  if (!sig) return null;
  const iv = sig.intervals;
  const colorOf = (name: string): string =>
    name === 'teacher' ? COLORS.teacher : name === 'hard student' ? COLORS.hard : name === 'distilled student' ? COLORS.distilled : name === 'ensemble' ? COLORS.violet : COLORS.sky;
  const colors = iv.map((i) => colorOf(i.name));
  const hi = Math.max(...iv.map((i) => i.hi));
  // The estimate is drawn as a tick: a floating bar 1/250 of the axis wide.
  const half = Math.max(hi, 1) / 250;
  return {
    id: 'intervals',
    kind: 'bar',
    horizontal: true,
    labels: iv.map((i) => i.name),
    series: [
      { label: `${100 * sig.level}% interval`, color: colors.map((c) => `${c}47`), data: iv.map((i): Range => [i.lo, i.hi]), overlay: true, barThickness: 14 },
      { label: 'test errors', color: colors, data: iv.map((i): Range => [i.testErrors - half, i.testErrors + half]), overlay: true, barThickness: 28, tooltip: 'mid' },
    ],
    x: { title: '', type: 'category' },
    y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true, suggestedMax: hi * 1.05 },
    legend: false,
  };
}

function alphaChart(r: Results): ChartSpec | null {
  const a = r.alphaSweep;
  if (!a) return null;
  return {
    id: 'alpha',
    kind: 'line',
    series: [
      ...intervalBand(a.points.map((q) => ({ x: q.alpha, testErrors: q.testErrors })), r.dataset.testSize, 'rgba(5,150,105,0.16)'),
      { label: `distilled student, T = ${a.T}`, color: COLORS.distilled, data: a.points.map((q) => ({ x: q.alpha, y: q.testErrors })), pointRadius: 4 },
    ],
    x: { title: 'α, the weight of the soft loss', type: 'linear', format: 'num', min: 0, max: 1 },
    y: { title: 'test errors', type: 'linear', format: 'int', beginAtZero: true },
    marks: [{ axis: 'x', value: r.distilled.alpha, label: `main run α = ${r.distilled.alpha}`, color: COLORS.paper }],
    legend: false,
  };
}

function specialistCharts(r: Results): ChartSpec[] {
  const paperRows = new Map(r.paper.specialists.coverage.map((c) => [c.covering, c.relativeChange]));
  return (r.specialists?.runs ?? []).map((run, i) => ({
    id: `specialists-${i}`,
    kind: 'bar' as const,
    labels: run.coverage.map((c) => String(c.covering)),
    series: [
      { label: `ours (${run.dataset})`, color: COLORS.distilled, data: run.coverage.map((c) => c.relativeChange) },
      { label: 'paper (JFT)', color: COLORS.paper, data: run.coverage.map((c) => paperRows.get(c.covering) ?? null) },
    ],
    x: { title: 'specialists covering the correct class', type: 'category' as const },
    y: { title: 'relative change', type: 'linear' as const, format: 'pct' as const, beginAtZero: true },
    legend: true,
  }));
}

function darkKnowledgeCharts(r: Results): ChartSpec[] {
  const dk = r.darkKnowledge;
  const colors = temperatureColors(dk.temperatures.length);
  // One floor for every panel, so that their bars compare.
  const all = dk.examples.flatMap((ex) => ex.probs.flatMap((d) => d.p)).filter((v) => v > 0);
  const min = Math.max(1e-12, 10 ** Math.floor(Math.log10(Math.min(...all))));
  return dk.examples.map((ex, i) => {
    return {
      id: `dk-${i}`,
      kind: 'bar' as const,
      labels: dk.classNames,
      series: ex.probs.map((d, j) => ({ label: `T = ${d.T}`, color: colors[j % colors.length], data: d.p.map((v) => (v > 0 ? v : null)) })),
      x: { title: 'class', type: 'category' as const },
      y: { title: 'probability (log)', type: 'logarithmic' as const, format: 'prob' as const, min, max: 1 },
      legend: false,
      logToggle: true,
    };
  });
}

/** A tick step in seconds that reads well (whole minutes or hours) and gives at most ~8 ticks. */
function niceStep(max: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];
  return steps.find((s) => max / s <= 8) ?? 43200;
}

function timingsChart(r: Results): ChartSpec | null {
  const ph = r.timings.phases;
  if (ph.length === 0) return null;
  return {
    id: 'timings',
    kind: 'bar',
    horizontal: true,
    labels: ph.map((p) => p.name),
    series: [{ label: 'seconds', color: COLORS.sky, data: ph.map((p) => p.seconds) }],
    x: { title: '', type: 'category' },
    y: { title: 'wall time', type: 'linear', format: 'sec', beginAtZero: true, stepSize: niceStep(Math.max(...ph.map((p) => p.seconds))) },
    legend: false,
  };
}

/** Every Chart.js chart of the report, keyed by id (the container's data-chart). */
export function buildCharts(r: Results): Map<string, ChartSpec> {
  const list = [
    ...trainingCharts(r),
    ...darkKnowledgeCharts(r),
    ...omitCharts(r),
    fraction3Chart(r),
    ...tempCharts(r),
    ensembleChart(r),
    alphaChart(r),
    intervalsChart(r),
    byClassChart(r),
    ...specialistCharts(r),
    timingsChart(r),
  ].filter((c): c is ChartSpec => c !== null);
  return new Map(list.map((c) => [c.id, c]));
}
