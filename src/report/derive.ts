import type { Results } from './schema.js';

/**
 * Numbers the report derives from results.json: the gap closed, the results-table rows and the
 * targets of the full profile. Pure functions of the results, so tests can check them.
 */

/** Fraction of the hard-student → teacher gap that distillation closes; null when undefined. */
export function gapClosed(hard: number, teacher: number, distilled: number): number | null {
  return hard > teacher ? (hard - distilled) / (hard - teacher) : null;
}

/** A share as a percentage; negatives with a typographic minus (−64%, not -64%). */
export const pct = (x: number, digits = 1): string => {
  const t = (100 * x).toFixed(digits);
  return `${Number(t) === 0 ? t.replace(/^-/, '') : t.replace(/^-/, '−')}%`;
};
export const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
const SUPERSCRIPT: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };

/**
 * A probability as the report writes it everywhere (cells, captions, axis ticks): two significant
 * digits as a decimal down to 0.001 (0.28, 0.05, 0.0032), below that as m×10⁻ⁿ (3.2×10⁻⁵).
 * The page script (client.ts) writes its axis ticks by the same rule.
 */
export function fmtProb(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v <= 0) return '0';
  if (v >= 0.001) return v >= 0.995 ? '1' : String(+v.toPrecision(2));
  const [m, x] = v.toExponential(1).split('e');
  const mant = m.endsWith('.0') ? m.slice(0, -2) : m;
  const pow = `10${x.replace('+', '').replace(/./g, (c) => SUPERSCRIPT[c] ?? c)}`;
  return mant === '1' ? pow : `${mant}×${pow}`;
}

/** A p-value to two significant digits, or "< 0.001". */
export const fmtP = (p: number): string => (p < 0.001 ? '< 0.001' : p.toPrecision(2));

export interface TableRow {
  group: string;
  experiment: string;
  ours: string;
  paper: string;
  notes: string;
}

export function resultRows(r: Results): TableRow[] {
  const p = r.paper;
  const gap = gapClosed(r.hard.testErrors, r.teacher.testErrors, r.distilled.testErrors);
  const paperGap = gapClosed(p.hardTestErrors, p.teacherTestErrors, p.distilledTestErrors) ?? 0;
  const o = r.omit3;
  const f = r.fraction3;
  const rows: TableRow[] = [
    { group: 'MNIST (§3)', experiment: `Teacher ${r.teacher.arch}`, ours: fmtInt(r.teacher.testErrors), paper: String(p.teacherTestErrors), notes: r.teacher.description ?? '' },
    { group: 'MNIST (§3)', experiment: `Student ${r.hard.arch}, hard labels`, ours: fmtInt(r.hard.testErrors), paper: String(p.hardTestErrors), notes: r.hard.description ?? '' },
    {
      group: 'MNIST (§3)',
      experiment: `Student ${r.distilled.arch}, distilled`,
      ours: fmtInt(r.distilled.testErrors),
      paper: String(p.distilledTestErrors),
      notes: `T = ${r.distilled.T}, α = ${r.distilled.alpha} (α weighs the soft loss)`,
    },
    ...(r.distilledCached
      ? [
          {
            group: 'MNIST (§3)',
            experiment: `The same student, distilled from cached targets`,
            ours: fmtInt(r.distilledCached.testErrors),
            paper: '—',
            notes: 'the teacher’s outputs on the clean images, computed once; the row above saw the teacher on each jittered batch',
          },
        ]
      : []),
    { group: 'MNIST (§3)', experiment: 'Gap closed by distillation', ours: gap === null ? '—' : pct(gap, 0), paper: pct(paperGap, 0), notes: '(hard − distilled) / (hard − teacher)' },
    {
      group: 'Omitted 3',
      experiment: 'No 3s in the transfer set',
      ours: `${fmtInt(o.before.testErrors)} (${fmtInt(o.before.threeErrors)} on 3s)`,
      paper: `${p.omit3.before.testErrors} (${p.omit3.before.threeErrors} on 3s)`,
      notes: `${fmtInt(o.threesInTest)} threes in the test set`,
    },
    {
      group: 'Omitted 3',
      experiment: `… bias of 3 raised by ${o.offset}`,
      ours: `${fmtInt(o.after.testErrors)} (${fmtInt(o.after.threeErrors)} on 3s)`,
      paper: `${p.omit3.after.testErrors} (${p.omit3.after.threeErrors} on 3s), +${p.omit3.offset}`,
      notes: `offset chosen on ${fmtInt(o.offsetChoice.heldOutSize)} held-out training examples`,
    },
    { group: 'Only 7s and 8s', experiment: 'Transfer set of 7s and 8s only', ours: pct(r.only78.before.errorRate), paper: pct(p.only78.errorRateBefore), notes: 'test error rate' },
    {
      group: 'Only 7s and 8s',
      experiment: `… biases of 7 and 8 lowered by ${r.only78.offset}`,
      ours: pct(r.only78.after.errorRate),
      paper: `${pct(p.only78.errorRateAfter)}, −${p.only78.offset}`,
      notes: `offset chosen on ${fmtInt(r.only78.offsetChoice.heldOutSize)} held-out training examples`,
    },
    {
      group: `${pct(f.fraction, 0)} of the data`,
      experiment: `Hard targets (${fmtInt(f.trainExamples)} examples)`,
      ours: `${pct(f.hard.testAccuracy)} test, ${pct(f.hard.trainAccuracy)} train`,
      paper: `${pct(p.fraction3.hard.testAccuracy)} test, ${pct(p.fraction3.hard.trainAccuracy)} train`,
      notes: `early-stopped at epoch ${f.hard.stoppedEpoch}; paper: ${p.fraction3.note}`,
    },
    {
      group: `${pct(f.fraction, 0)} of the data`,
      experiment: 'Soft targets',
      ours: `${pct(f.soft.testAccuracy)} test, ${pct(f.soft.trainAccuracy)} train`,
      paper: `${pct(p.fraction3.soft.testAccuracy)} test, ${pct(p.fraction3.soft.trainAccuracy)} train`,
      notes: `T = ${f.T}, α = ${f.alpha}`,
    },
  ];
  for (const s of r.tempSweep.students) {
    const best = s.points.reduce((a, b) => (b.testErrors < a.testErrors ? b : a));
    const t = p.tempSweep;
    const paperBest =
      s.hiddenUnits <= t.smallUnits ? `T = ${t.smallBestT[0]}–${t.smallBestT[1]}` : s.hiddenUnits >= t.largeUnits ? `any T > ${t.largeMinT}` : '—';
    rows.push({
      group: 'Temperature',
      experiment: `Best T, ${s.hiddenUnits} units per layer`,
      ours: `T = ${best.T} (${fmtInt(best.testErrors)} errors)`,
      paper: paperBest,
      notes: s.hardTestErrors === undefined ? '' : `hard labels: ${fmtInt(s.hardTestErrors)} errors`,
    });
  }
  const e = r.ensemble;
  rows.push(
    {
      group: 'Ensemble',
      experiment: `${e.members.length}-model ensemble`,
      ours: fmtInt(e.ensembleTestErrors),
      paper: `${pct(p.ensemble.ensembleAccuracy)} acc.`,
      notes: `members ${e.members.map((m) => m.testErrors).join(', ')}; paper: speech, Table 1`,
    },
    {
      group: 'Ensemble',
      experiment: `One student distilled from the ensemble`,
      ours: `${fmtInt(e.student.testErrors)}, keeps ${pct(e.gainKept, 0)} of the gain`,
      paper: `${pct(p.ensemble.distilledAccuracy)} acc., keeps ${pct(p.ensemble.gainKept, 0)}`,
      notes: `gain measured from ${e.baseline.label} (${fmtInt(e.baseline.testErrors)})`,
    },
  );
  if (r.alphaSweep) {
    const best = r.alphaSweep.points.reduce((a, b) => (b.testErrors < a.testErrors ? b : a));
    rows.push({
      group: 'α sweep',
      experiment: `Best α at T = ${r.alphaSweep.T}`,
      ours: `α = ${best.alpha} (${fmtInt(best.testErrors)} errors)`,
      paper: 'small weight on the hard loss',
      notes: r.alphaSweep.points.map((q) => `α ${q.alpha}: ${q.testErrors}`).join(', '),
    });
  }
  for (const run of r.specialists?.runs ?? []) {
    rows.push({
      group: 'Specialists',
      experiment: `${run.dataset}: generalist → with ${run.groups.length} specialists`,
      ours: `${pct(run.generalist.accuracy, 2)} → ${pct(run.combined.accuracy, 2)}`,
      paper: `${pct(p.specialists.generalistAccuracy)} → ${pct(p.specialists.combinedAccuracy)}`,
      notes: `paper: JFT, 61 specialists`,
    });
  }
  return rows;
}

export interface Target {
  label: string;
  value: string;
  met: boolean;
  /** Profiles the target applies to. */
  profiles: string[];
}

/** "76 (95%: 60–95)" when results.significance has an interval for the model, else "76". */
export function withInterval(r: Results, name: string, errors: number): string {
  const sig = r.significance;
  const iv = sig?.intervals.find((i) => i.name === name);
  return sig && iv ? `${errors} (${100 * sig.level}%: ${fmtInt(iv.lo)}–${fmtInt(iv.hi)})` : String(errors);
}

/** The targets set for the runs (issue 4): quick must show distillation helping; full the rest. */
export function targets(r: Results): Target[] {
  const gap = gapClosed(r.hard.testErrors, r.teacher.testErrors, r.distilled.testErrors);
  const threesRight = 1 - r.omit3.after.threeErrors / r.omit3.threesInTest;
  const paired = r.significance?.comparisons.find((c) => c.a === 'distilled student' && c.b === 'hard student');
  return [
    {
      label: 'Distilled student beats the hard one',
      value: `${r.distilled.testErrors} vs ${r.hard.testErrors}${paired ? ` (p ${paired.pValue < 0.001 ? '' : '= '}${fmtP(paired.pValue)})` : ''}`,
      met: r.distilled.testErrors < r.hard.testErrors,
      profiles: ['quick', 'full'],
    },
    { label: 'Teacher ≤ 75 test errors', value: withInterval(r, 'teacher', r.teacher.testErrors), met: r.teacher.testErrors <= 75, profiles: ['full'] },
    { label: 'Distilled student ≤ 90 test errors', value: withInterval(r, 'distilled student', r.distilled.testErrors), met: r.distilled.testErrors <= 90, profiles: ['full'] },
    { label: 'Distillation closes ≥ 75% of the gap', value: gap === null ? '—' : pct(gap, 0), met: gap !== null && gap >= 0.75, profiles: ['full'] },
    { label: '≥ 95% of threes right after the bias fix', value: pct(threesRight), met: threesRight >= 0.95, profiles: ['full'] },
    {
      label: '3% data: soft targets above hard targets',
      value: `${pct(r.fraction3.soft.testAccuracy)} vs ${pct(r.fraction3.hard.testAccuracy)}`,
      met: r.fraction3.soft.testAccuracy > r.fraction3.hard.testAccuracy,
      profiles: ['full'],
    },
  ];
}
