import type { ChartSpec } from './charts.js';
import { countPoints } from './charts.js';
import type { ClientData } from './client.js';
import { fmtInt } from './derive.js';
import { escapeHtml as e } from './escape.js';
import { duration, htmlPage, readableTime } from './html.js';
import type { Results } from './schema.js';
import { seedsCharts, type SeedFormat, type SeedMetric, type SeedsSummary } from './seeds.js';
import { chartBox, panel, section, tableWrap } from './sections.js';

/** The seeds summary as one self-contained page (styles, Chart.js and data inlined), like report.html. */

export function fmtSeedValue(f: SeedFormat, v: number | null): string {
  if (v === null) return '—';
  const text = f === 'int' ? fmtInt(v) : f === 'pct' ? `${(100 * v).toFixed(1)}%` : String(+v.toPrecision(3));
  return text.replace(/^-/, '−'); // a minus sign, not a hyphen
}

/** A setting each run chose for itself (the best T of a sweep, an offset picked on held-out data): no mean of choices. */
export const isChoice = (m: SeedMetric): boolean => /^(Best T|Bias offset)/.test(m.label);

/** "mean ± sd": an int metric's mean gets one decimal, a percentage's sd is in points; none for choices. */
function meanSd(m: SeedMetric): string {
  if (m.mean === null) return '—';
  if (isChoice(m)) return '<span class="sub">a choice: per seed</span>';
  const mean = m.format === 'int' ? m.mean.toFixed(1).replace(/^-/, '−') : fmtSeedValue(m.format, m.mean);
  if (m.sd === null) return mean;
  const sd = m.format === 'int' ? m.sd.toFixed(1) : m.format === 'pct' ? `${(100 * m.sd).toFixed(1)} pts` : String(+m.sd.toPrecision(2));
  return `${mean} ± ${sd}`;
}

function metricsTable(s: SeedsSummary): string {
  let last = '';
  const head = `<tr><th>experiment</th>${s.seeds.map((x) => `<th class="num">seed ${x}</th>`).join('')}<th class="num">mean ± sd</th><th class="num">range</th><th class="num">paper</th></tr>`;
  const rows = s.metrics
    .map((m) => {
      const group = m.group !== last ? `<tr class="group"><td colspan="${s.seeds.length + 4}">${e(m.group)}</td></tr>` : '';
      last = m.group;
      const sep = m.min !== null && m.min < 0 ? ' to ' : '–';
      const range = m.min === null || m.max === null ? '—' : `${fmtSeedValue(m.format, m.min)}${sep}${fmtSeedValue(m.format, m.max)}`;
      return `${group}<tr><td>${e(m.label)}</td>${m.values.map((v) => `<td class="num">${fmtSeedValue(m.format, v)}</td>`).join('')}<td class="num ours">${meanSd(m)}</td><td class="num">${range}</td><td class="num">${e(m.paper ?? '')}</td></tr>`;
    })
    .join('');
  return `<div class="panel" style="padding:0">${tableWrap(`<table class="results"><thead>${head}</thead><tbody>${rows}</tbody></table>`, 'border-radius:14px')}</div>`;
}

function claimsList(s: SeedsSummary): string {
  const items = s.claims
    .map((c) => {
      const cls = c.holds === c.of ? 'ok' : c.holds === 0 ? 'miss' : 'na';
      const sym = c.holds === c.of ? '✓' : c.holds === 0 ? '✗' : '~';
      return `<li><span class="mark ${cls}">${sym}</span><span>${e(c.claim)}</span><span class="v">${c.holds} of ${c.of} seeds</span></li>`;
    })
    .join('');
  return `<ul class="targets">${items}</ul>`;
}

function targetsList(s: SeedsSummary): string {
  const known = ['quick', 'full'].includes(s.profile);
  const items = s.targets
    .map((t) => {
      const applies = !known || t.profiles.includes(s.profile);
      const cls = !applies ? 'na' : t.met === t.of ? 'ok' : 'miss';
      const sym = !applies ? '·' : t.met === t.of ? '✓' : '✗';
      return `<li><span class="mark ${cls}" title="${applies ? '' : `applies to the ${e(t.profiles.join('/'))} profile`}">${sym}</span><span>${e(t.target)}</span><span class="v">met in ${t.met} of ${t.of}</span></li>`;
    })
    .join('');
  return `<ul class="targets">${items}</ul>`;
}

/** `runs` in the summary's seed order; a seed without its run is an error. */
function inSeedOrder(s: SeedsSummary, runs: Results[], who: string): Results[] {
  return s.seeds.map((seed) => {
    const r = runs.find((x) => x.config.seed === seed);
    if (!r) throw new RangeError(`${who}: no run for seed ${seed}`);
    return r;
  });
}

/**
 * Render the summary of `runs` (the same Results the summary was made from, any order).
 * `reports[i]`, where given, is the relative link to the report of `s.seeds[i]`'s run.
 */
export function renderSeedsReport(s: SeedsSummary, runs: Results[], reports: (string | undefined)[] = []): string {
  const rs = inSeedOrder(s, runs, 'renderSeedsReport');
  const source = (i: number): string => (reports[i] ? `<a class="mono" href="${e(reports[i])}">${e(s.sources[i])}</a>` : `<span class="mono">${e(s.sources[i])}</span>`);
  const charts = seedsCharts(s, rs);
  const sources = tableWrap(`<table class="compact"><thead><tr><th class="num">seed</th><th>results</th><th>created</th><th class="num">wall time</th></tr></thead><tbody>${s.seeds
    .map((seed, i) => `<tr><td class="num">${seed}</td><td>${source(i)}</td><td>${e(readableTime(rs[i].createdAt))}</td><td class="num">${duration(s.totalSeconds[i])}</td></tr>`)
    .join('')}</tbody></table>`);
  let n = 0;
  const body = [
    section(
      ++n,
      'models',
      'The three main models, seed by seed',
      `Test errors out of ${fmtInt(s.dataset.testSize)}. A seed sets the initial weights, the batch order, the dropout masks and the jitter of every run; the test set stays the same.`,
      `<div class="grid2">${panel('Test errors', 'Each seed’s teacher, student on hard labels, and the same student distilled.', chartBox('seeds-models', 'test errors per seed'))}${panel(
        'Gap closed by distillation',
        '(hard − distilled) / (hard − teacher) in each run; the grey line is the paper’s.',
        chartBox('seeds-gap', 'gap closed per seed'),
      )}</div>`,
    ),
    section(
      ++n,
      'claims',
      'Which findings hold in every seed',
      'Each of the paper’s qualitative claims, and each of the reproduction’s targets, checked in each run on its own.',
      `${panel('Claims', '', claimsList(s))}<div style="margin-top:18px">${panel('Targets', `Those of the “${e(s.profile)}” profile are marked; the others (grey) belong to another profile.`, targetsList(s))}</div>`,
    ),
    section(
      ++n,
      'table',
      'Every headline number',
      'Per seed, with the mean, the sample standard deviation (n − 1) and the range. The seed-to-seed spread is a different uncertainty from the test-set intervals in each run’s own report.',
      metricsTable(s),
    ),
    section(++n, 'runs', 'The runs', `Profile “${e(s.profile)}”; each run’s own report.html sits beside its results.json.`, panel('Runs', '', sources)),
  ].join('\n');
  const missing = charts.filter((c) => !body.includes(`data-chart="${c.id}"`));
  if (missing.length) throw new Error(`renderSeedsReport: no container for chart(s) ${missing.map((c) => c.id).join(', ')}`);
  const data: ClientData = { charts, digits: [] };
  const example = '<div class="banner"><b>Example data.</b> These runs are <code>exampleResults()</code> with the seed changed: every number on this page is illustrative, not measured.</div>';
  return htmlPage({
    title: `Dark knowledge across ${s.seeds.length} seeds — ${s.profile} profile`,
    generator: 'dark-knowledge',
    hero: `<div class="kicker">dark-knowledge · across seeds</div>
<h1>How much the results move with the seed</h1>
<p class="lede">${s.seeds.length} runs of the paper job’s “${e(s.profile)}” profile on ${e(s.dataset.name)}, identical but for the seed.</p>
<div class="chips"><span class="chip">profile <b>${e(s.profile)}</b></span><span class="chip">seeds <b>${s.seeds.join(', ')}</b></span><span class="chip">total <b>${duration(s.totalSeconds.reduce((a, b) => a + b, 0))}</b></span></div>
${s.profile === 'example' ? example : ''}`,
    main: body,
    footer: `Generated by dark-knowledge (dk seeds) from ${s.seeds.length} results.json files, ${e(readableTime(s.createdAt))}. Charts: Chart.js (MIT), inlined.`,
    data,
  });
}

/** Expected data-points of the page's charts (id → count), for tests. */
export function expectedSeedsChartPoints(s: SeedsSummary, runs: Results[]): Map<string, number> {
  return new Map(seedsCharts(s, inSeedOrder(s, runs, 'expectedSeedsChartPoints')).map((c: ChartSpec) => [c.id, countPoints(c)]));
}
