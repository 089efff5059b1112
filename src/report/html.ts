import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildCharts, countPoints, type ChartSpec } from './charts.js';
import { clientMain, type ClientData } from './client.js';
import { fmtInt, gapClosed, pct, resultRows, targets } from './derive.js';
import { escapeHtml as e, jsonForScript } from './escape.js';
import type { ModelRun, Results } from './schema.js';
import { errorInterval } from '../util/stats.js';
import {
  curvesSection,
  darkKnowledgeSection,
  ensembleSection,
  fraction3Section,
  omitSection,
  only78Section,
  panel,
  section,
  significanceSection,
  specialistsSection,
  tableWrap,
  tocNav,
  tempSection,
} from './sections.js';
import { REPORT_CSS } from './style.js';

let chartJsSource: string | undefined;

/** A wall time as people read it: seconds, minutes or hours. */
export const duration = (s: number): string => (s < 10 ? `${s.toFixed(1)} s` : s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`);
/** Dataset names as people write them. */
const displayName = (name: string): string => ({ mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST', kmnist: 'KMNIST', emnist: 'EMNIST' })[name.toLowerCase()] ?? name;

/** The Chart.js UMD bundle, found through Node's resolution of the installed chart.js package. */
export function chartJsBundle(): string {
  if (chartJsSource === undefined) {
    const require = createRequire(import.meta.url);
    const main = require.resolve('chart.js'); // …/chart.js/dist/chart.cjs
    const src = readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
    // A literal "</script" would end the inline element; the bundle has none, but be safe.
    chartJsSource = src.replace(/<\/script/gi, '<\\/script');
  }
  return chartJsSource;
}

/** What a page of ours is made of, around the shared head, styles and scripts. */
export interface PageParts {
  title: string;
  generator: string;
  /** Inside the hero header's wrapper: kicker, h1, lede, chips, banner. */
  hero: string;
  main: string;
  /** Inside the footer's wrapper. */
  footer: string;
  data: ClientData;
}

/** A self-contained page: styles, Chart.js, the chart data and the page script inlined, nothing fetched. */
export function htmlPage(p: PageParts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${e(p.generator)}">
<title>${e(p.title)}</title>
<link rel="icon" href="data:,">
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="hero"><div class="wrap">
${p.hero}
</div></header>
<main class="wrap">
${p.main}
</main>
<footer><div class="wrap">${p.footer}</div></footer>
<script type="application/json" id="dk-data">${jsonForScript(p.data)}</script>
<script>${chartJsBundle()}</script>
<script>(${clientMain.toString()})();</script>
</body>
</html>
`;
}

function card(label: string, arch: string, color: string, run: ModelRun, paper: number, r: Results, name: string): string {
  const ours = run.testErrors;
  const d = ours - paper;
  const cls = d <= 0 ? 'good' : d <= paper * 0.15 ? 'flat' : 'bad';
  // The interval the significance section shows for this model, else the same exact interval computed here.
  const given = r.significance?.intervals.find((i) => i.name === name);
  const level = given && r.significance ? r.significance.level : 0.95;
  const iv = given ?? errorInterval(ours, r.dataset.testSize, level);
  const how = cls === 'good' ? 'at or below the paper' : cls === 'flat' ? 'within 15% above the paper' : 'more than 15% above the paper';
  return `<div class="card" style="--c:${color}"><div class="label">${e(label)}</div><div class="arch">${e(arch)}</div>
<div class="big">${fmtInt(ours)}<small>test errors</small></div>
<div class="ci">${+(100 * level).toFixed(1)}% interval ${fmtInt(iv.lo)}–${fmtInt(iv.hi)}</div>
<div class="vs">paper <b>${paper}</b><span class="delta ${cls}" title="ours − paper: ${how}">${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d)} vs paper</span></div>
<div class="foot">${pct(run.testAccuracy, 2)} · ${run.epochs} epochs · ${duration(run.wallSeconds)}</div></div>`;
}

function gapCard(r: Results): string {
  const g = gapClosed(r.hard.testErrors, r.teacher.testErrors, r.distilled.testErrors);
  const pg = gapClosed(r.paper.hardTestErrors, r.paper.teacherTestErrors, r.paper.distilledTestErrors) ?? 0;
  const w = g === null ? 0 : Math.max(0, Math.min(1, g));
  return `<div class="card" style="--c:var(--distilled)"><div class="label">Gap closed</div><div class="arch">hard student → teacher, by distillation</div>
<div class="big">${g === null ? '—' : pct(g, 0)}</div>
<div class="vs">paper <b>${pct(pg, 0)}</b> · (hard − distilled) / (hard − teacher)</div>
<div class="bar" title="ours ${g === null ? '—' : pct(g, 0)}; tick: the paper's ${pct(pg, 0)}"><i style="width:${(100 * w).toFixed(1)}%"></i><span class="tick" style="left:${(100 * Math.min(1, pg)).toFixed(1)}%"></span></div>
<div class="bar-key"><span>bar: ours</span><span>tick: the paper’s ${pct(pg, 0)}</span></div></div>`;
}

function minis(r: Results): string {
  const o = r.omit3;
  const f = r.fraction3;
  const mini = (label: string, val: string, sub: string): string =>
    `<div class="mini"><div class="label">${e(label)}</div><div class="val">${val}</div><div class="sub">${sub}</div></div>`;
  return `<div class="minis">${mini(
    'Never saw a 3: threes right after the bias fix',
    pct(1 - o.after.threeErrors / o.threesInTest),
    `${fmtInt(o.after.threeErrors)} of ${fmtInt(o.threesInTest)} wrong (before: ${fmtInt(o.before.threeErrors)}) · paper ${r.paper.omit3.after.threeErrors}`,
  )}${mini(
    `${pct(f.fraction, 0)} of the data: soft vs hard targets`,
    `${pct(f.soft.testAccuracy)} <span style="color:var(--muted);font-weight:500">vs</span> ${pct(f.hard.testAccuracy)}`,
    `test accuracy · paper (speech) ${pct(r.paper.fraction3.soft.testAccuracy)} vs ${pct(r.paper.fraction3.hard.testAccuracy)}`,
  )}${mini(
    `Ensemble of ${r.ensemble.members.length} → one student`,
    `${pct(r.ensemble.gainKept, 0)} <span style="color:var(--muted);font-weight:500;font-size:14px">of the gain kept</span>`,
    `${fmtInt(r.ensemble.ensembleTestErrors)} ensemble · ${fmtInt(r.ensemble.student.testErrors)} student · paper ${pct(r.paper.ensemble.gainKept, 0)} (speech)`,
  )}</div>`;
}

function targetsPanel(r: Results): string {
  const profile = r.config.profile;
  const known = ['quick', 'full'].includes(profile);
  const items = targets(r)
    .map((t) => {
      // Profiles other than quick/full (an example, a custom run) are checked against everything.
      const applies = !known || t.profiles.includes(profile);
      const cls = !applies ? 'na' : t.met ? 'ok' : 'miss';
      const sym = !applies ? '·' : t.met ? '✓' : '✗';
      return `<li><span class="mark ${cls}" title="${applies ? (t.met ? 'met' : 'missed') : `applies to the ${t.profiles.join('/')} profile`}">${sym}</span><span>${e(t.label)}</span><span class="v">${e(t.value)}</span></li>`;
    })
    .join('');
  return panel(
    'Targets',
    profile === 'quick'
      ? 'The quick profile must show distillation helping; the others (grey) are the full profile’s targets. Nothing is tuned on the test set.'
      : profile === 'full'
        ? 'The full profile’s targets. Nothing is tuned on the test set: offsets and early stopping use held-out training data.'
        : 'The full profile’s targets, checked against this page’s numbers. Nothing is tuned on the test set.',
    `<ul class="targets">${items}</ul>`,
  );
}

function resultsTable(r: Results): string {
  let last = '';
  const rows = resultRows(r)
    .map((row) => {
      const head = row.group !== last ? `<tr class="group"><td colspan="4">${e(row.group)}</td></tr>` : '';
      last = row.group;
      return `${head}<tr><td>${e(row.experiment)}</td><td class="num ours">${e(row.ours)}</td><td class="num">${e(row.paper)}</td><td class="notes">${e(row.notes)}</td></tr>`;
    })
    .join('');
  return `<div class="panel" style="padding:0">${tableWrap(`<table class="results"><thead><tr><th>experiment</th><th class="num">ours</th><th class="num">paper</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`, 'border-radius:14px')}</div>`;
}

/** results.json's config keys as people read them (unknown keys are shown as they are). */
const CONFIG_NAMES: Record<string, string> = {
  profile: 'profile',
  seed: 'seed',
  dataset: 'data',
  batchSize: 'batch size',
  lr: 'learning rate',
  lrSchedule: 'learning-rate schedule',
  momentum: 'momentum',
  T: 'temperature T',
  alpha: 'α (weight of the soft loss)',
};
/** The experiments' keys (config.epochs) as the sections name them. */
const EXPERIMENT_NAMES: Record<string, string> = {
  teacher: 'teacher',
  hard: 'student, hard labels',
  distilled: 'student, distilled',
  omit3: 'the omitted 3',
  only78: 'only 7s and 8s',
  fraction3: '3% of the data',
  tempSweep: 'temperature sweep (per point)',
  ensemble: 'ensemble (per member)',
  alphaSweep: 'α sweep (per point)',
  specialists: 'specialists',
};

/** An ISO timestamp as people read it: "2 Dec 2026, 14:23 UTC" (unparseable text as it is). */
export function readableTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const hm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hm} UTC`;
}

function runSection(r: Results): string {
  const c = r.config;
  const flat: [string, string][] = [];
  for (const [k, v] of Object.entries(c)) {
    if (k === 'epochs') continue;
    flat.push([CONFIG_NAMES[k] ?? k, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  const kv = (pairs: [string, string][]): string => `<dl class="kv">${pairs.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`;
  const epochs = Object.entries(c.epochs).map(([k, v]): [string, string] => [EXPERIMENT_NAMES[k] ?? k, String(v)]);
  const m = r.machine;
  const machine: [string, string][] = [
    ['CPU', m.cpuModel],
    ['cores', String(m.cores)],
    ['memory', `${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB`],
    ['Node.js', m.node],
    ['onnxruntime', m.onnxruntime],
    ['OS', m.os],
    ['created', readableTime(r.createdAt)],
    ['schema', `results.json v${r.schemaVersion}`],
  ];
  const rowsH = Math.max(160, 28 * r.timings.phases.length + 60);
  const timing = r.timings.phases.length
    ? `<div class="chart" style="height:${rowsH}px" data-chart="timings" data-title="wall time per phase"></div>`
    : '<p class="cap">No phases recorded.</p>';
  return `<div class="grid-3eq">${panel('Configuration', '', kv(flat))}${panel('Epochs per experiment', '', kv(epochs))}${panel('Machine', '', kv(machine))}</div>
<div style="margin-top:18px">${panel('Wall time per phase', `Total ${duration(r.timings.totalSeconds)}.`, timing)}</div>`;
}

/**
 * Render results as one self-contained HTML page: styles, Chart.js and the chart data inlined,
 * nothing fetched, so it opens from disk offline. Deterministic for a given input.
 */
export interface ReportLinks {
  /** Extra links for the contents bar, e.g. the seeds page and the other seeds' reports. */
  links?: { label: string; href: string }[];
}

export function renderReport(results: Results, opts: ReportLinks = {}): string {
  const r = results;
  const charts = buildCharts(r);
  const isExample = r.config.profile === 'example';
  let n = 0;
  const sections: string[] = [
    section(++n, 'results', 'Results against the paper', `Test errors are out of ${fmtInt(r.dataset.testSize)} ${e(displayName(r.dataset.name))} test images. The paper’s speech and JFT numbers stand beside their MNIST analogues for shape, not as targets.`, resultsTable(r) + significanceSection(r)),
    section(++n, 'curves', 'Teacher, hard student, distilled student', `The same small net trained on hard labels and on the teacher’s soft targets at T = ${r.distilled.T} (α = ${r.distilled.alpha} on the soft loss).`, curvesSection(r)),
    section(++n, 'dark-knowledge', 'The dark knowledge itself', 'Test images with the teacher’s distribution at several temperatures, and the class-similarity matrix of its soft outputs.', darkKnowledgeSection(r)),
    section(++n, 'omit3', 'A digit it never saw: the omitted 3', 'The student learns 3 only from the teacher’s soft targets on other digits; its bias for 3 is too low, and raising it recovers most threes.', omitSection(r)),
    section(++n, 'only78', 'Only 7s and 8s in the transfer set', 'Trained on 7s and 8s alone, the student still learns the other digits from the soft targets once the biases of 7 and 8 are lowered.', only78Section(r)),
    section(++n, 'fraction3', `Soft targets as a regulariser: ${pct(r.fraction3.fraction, 0)} of the data`, 'With little data, hard targets overfit and need early stopping; soft targets carry enough information to keep generalising.', fraction3Section(r)),
    section(
      ++n,
      'temperature',
      r.alphaSweep ? 'Temperature, student size and α' : 'Temperature and student size',
      `A tiny student cannot copy every detail of the teacher: intermediate temperatures, which ignore the smallest logits, help it most.${r.alphaSweep ? ' The loss is α·T²·CE(soft) + (1 − α)·CE(hard).' : ''}`,
      tempSection(r),
    ),
    section(++n, 'ensemble', 'Compressing an ensemble', 'Several teachers combined, then one student distilled from their combined probabilities: how much of the ensemble’s gain it keeps.', ensembleSection(r)),
  ];
  if (r.specialists) sections.push(section(++n, 'specialists', 'Specialists', 'Specialists for groups of classes the generalist confuses, combined with it by minimising a sum of KL divergences per example; the paper’s Table 4.', specialistsSection(r)));
  sections.push(section(++n, 'run', 'The run', `Seed ${r.config.seed}, profile “${e(r.config.profile)}”.`, runSection(r)));

  const body = sections.join('\n');
  const missing = [...charts.keys()].filter((id) => !body.includes(`data-chart="${id}"`));
  if (missing.length) throw new Error(`renderReport: no container for chart(s) ${missing.join(', ')}`);
  const data: ClientData = {
    charts: [...charts.values()],
    digits: r.darkKnowledge.examples.map((ex, i) => ({ id: `digit-${i}`, image: ex.image })),
  };
  const totalMin = (r.timings.totalSeconds / 60).toFixed(1);
  const banner = isExample
    ? `<div class="banner"><b>Example data.</b> This page was rendered from <code>exampleResults()</code>: every number on it is illustrative, not measured.</div>`
    : '';
  const notes = r.notes?.length
    ? `<div style="margin-top:16px">${panel('Notes from the run', '', `<ul class="notes">${r.notes.map((t) => `<li>${e(t)}</li>`).join('')}</ul>`)}</div>`
    : '';
  return htmlPage({
    title: `Dark knowledge on ${displayName(r.dataset.name)} — ${r.config.profile} run, seed ${r.config.seed}`,
    generator: r.generator ?? 'dark-knowledge',
    hero: `<div class="kicker">dark-knowledge · reproduction report</div>
<h1>Distilling the knowledge in a neural network</h1>
<p class="lede">A reproduction of the ${e(displayName(r.dataset.name))} experiments of ${e(r.paper.citation)}: a large regularised teacher, a small student trained on its softened outputs, and what those outputs know.</p>
<div class="chips"><span class="chip">profile <b>${e(r.config.profile)}</b></span><span class="chip">seed <b>${r.config.seed}</b></span><span class="chip">T <b>${r.distilled.T}</b>, α <b>${r.distilled.alpha}</b></span><span class="chip">total <b>${totalMin} min</b></span><span class="chip">${e(r.machine.cores + ' cores · ' + r.machine.cpuModel)}</span></div>
${banner}`,
    main: `<div class="cards">${card('Teacher', r.teacher.arch, 'var(--teacher)', r.teacher, r.paper.teacherTestErrors, r, 'teacher')}${card('Student, hard labels', r.hard.arch, 'var(--hard)', r.hard, r.paper.hardTestErrors, r, 'hard student')}${card('Student, distilled', `${r.distilled.arch}, T = ${r.distilled.T}`, 'var(--distilled)', r.distilled, r.paper.distilledTestErrors, r, 'distilled student')}${gapCard(r)}</div>
<p class="cards-key">Badges: our test errors minus the paper’s — <span class="delta good">green</span> at or below the paper, <span class="delta flat">grey</span> up to 15% above it, <span class="delta bad">rose</span> more than 15% above. Intervals: exact (Clopper–Pearson) 95% on the error count.</p>
${minis(r)}
<div style="margin-top:16px">${targetsPanel(r)}</div>
${notes}
${tocNav(body, [
  { label: 'the paper (arXiv)', href: 'https://arxiv.org/abs/1503.02531' },
  { label: 'results.json', href: 'results.json' },
  ...(opts.links ?? []),
])}
${body}`,
    footer: `Generated by ${e(r.generator ?? 'dark-knowledge')} from results.json (schema v${r.schemaVersion}). Reference: ${e(r.paper.citation)}. Charts: Chart.js (MIT), inlined.`,
    data,
  });
}

/** Expected data-points of every Chart.js chart (id → count), for tests. */
export function expectedChartPoints(results: Results): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, spec] of buildCharts(results) as Map<string, ChartSpec>) out.set(id, countPoints(spec));
  return out;
}
