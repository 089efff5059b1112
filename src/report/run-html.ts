/**
 * The run report: one self-contained page for a `dk train` or `dk distill` run, rendered from its
 * JSON (run-schema.ts) with the paper report's page shell, charts, styles and escaping.
 */
import { COLORS, countPoints, type ChartSpec } from './charts.js';
import { fmtInt, fmtP, pct } from './derive.js';
import { escapeHtml as e } from './escape.js';
import { duration, htmlPage, readableTime } from './html.js';
import type { ModelEntry, RunReport, TestEval } from './run-schema.js';
import { chartBox, panel, section, tocNav } from './sections.js';

/** Bytes as people read them (binary units). */
export function fmtBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

/** Milliseconds to three significant digits, as µs below 0.1 ms. */
export function fmtMs(ms: number): string {
  return ms < 0.1 ? `${+(1000 * ms).toPrecision(3)} µs` : `${+ms.toPrecision(3)} ms`;
}

/** A ratio such as 12.3× (two significant digits below 10). */
const times = (r: number): string => (r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`);

/** "p = 0.12" or "p < 0.001". */
const pIs = (p: number): string => (p < 0.001 ? 'p < 0.001' : `p = ${fmtP(p)}`);

const rate = (errors: number, total: number): number => (total > 0 ? errors / total : 0);

/** "92 errors (0.92%), 95% interval 74–113". */
function intervalText(t: TestEval): string {
  return `${pct(t.interval.level, 0)} interval ${fmtInt(Math.floor(t.interval.lo))}–${fmtInt(Math.ceil(t.interval.hi))} errors`;
}

function modelCard(label: string, color: string, m: ModelEntry, extra = ''): string {
  const t = m.test;
  const big = t ? `${fmtInt(t.errors)}<small>test errors</small>` : `${fmtInt(m.weights)}<small>weights</small>`;
  const vs = t ? `accuracy <b>${pct(1 - rate(t.errors, t.total), 2)}</b> · ${intervalText(t)}` : 'no test split';
  return `<div class="card" style="--c:${color}"><div class="label">${e(label)}</div><div class="arch">${e(m.description)}</div>
<div class="big">${big}</div><div class="vs">${vs}</div><div class="foot">${fmtInt(m.weights)} weights · ${fmtBytes(m.fileBytes)}${extra}</div></div>`;
}

const speed = (m: ModelEntry, batch: number): number | undefined => m.inference.find((p) => p.batch === batch)?.msPerExample;

function compressionCard(s: ModelEntry, t: ModelEntry): string {
  const b1t = speed(t, 1);
  const b1s = speed(s, 1);
  const bBt = speed(t, 256);
  const bBs = speed(s, 256);
  const sp = (a?: number, b?: number) => (a !== undefined && b !== undefined ? times(a / b) : '—');
  return `<div class="card" style="--c:var(--amber)"><div class="label">Compression</div><div class="arch">teacher ÷ student</div>
<div class="big">${s.weights > 0 ? times(t.weights / s.weights) : '—'}<small>fewer weights</small></div>
<div class="vs">file <b>${s.fileBytes > 0 ? times(t.fileBytes / s.fileBytes) : '—'}</b> smaller · <b>${sp(b1t, b1s)}</b> faster at batch 1</div>
<div class="foot">${sp(bBt, bBs)} faster per example at batch 256</div></div>`;
}

function agreementCard(c: NonNullable<RunReport['comparison']>): string {
  return `<div class="card" style="--c:var(--violet)"><div class="label">Agreement with the teacher</div><div class="arch">on the test set</div>
<div class="big">${pct(c.agreement, 1)}<small>same top class</small></div>
<div class="vs">mean KL(teacher ‖ student) at T = ${c.T}: <b>${c.meanKL.toPrecision(3)}</b> nats</div>
<div class="foot">paired test against the teacher: ${pIs(c.pValue)}</div></div>`;
}

/** The charts of a run report, keyed by id (the container's data-chart). */
export function runCharts(r: RunReport): Map<string, ChartSpec> {
  const h = r.history;
  const out: ChartSpec[] = [];
  const testN = r.data.testSize;
  const heldN = r.data.heldOutSize ?? 0;
  const errSeries: ChartSpec['series'] = [];
  if (testN > 0 && h.some((e) => e.testErrors !== undefined)) {
    errSeries.push({ label: 'student, test', color: COLORS.distilled, data: h.map((e) => ({ x: e.epoch, y: e.testErrors === undefined ? null : rate(e.testErrors, testN) })) });
  }
  if (heldN > 0 && h.some((e) => e.heldOutErrors !== undefined)) {
    errSeries.push({ label: 'student, held-out', color: COLORS.sky, dashed: true, data: h.map((e) => ({ x: e.epoch, y: e.heldOutErrors === undefined ? null : rate(e.heldOutErrors, heldN) })) });
  }
  errSeries.push({ label: 'student, training (running)', color: COLORS.paper, data: h.map((e) => ({ x: e.epoch, y: 1 - e.trainAccuracy })) });
  const tt = r.teacher?.test;
  out.push({
    id: 'run-errors',
    kind: 'line',
    series: errSeries,
    x: { title: 'epoch', type: 'linear', format: 'int', min: 1, max: Math.max(2, h.length), stepSize: 1 },
    y: { title: 'error rate', type: 'linear', format: 'pct', beginAtZero: true },
    marks: tt ? [{ axis: 'y', value: rate(tt.errors, tt.total), label: `teacher, test: ${pct(rate(tt.errors, tt.total), 2)}`, color: COLORS.teacher }] : undefined,
    legend: true,
  });
  out.push({
    id: 'run-loss',
    kind: 'line',
    series: [
      { label: 'training loss', color: COLORS.ink, data: h.map((e) => ({ x: e.epoch, y: e.loss })) },
      { label: 'learning rate', color: COLORS.amber, dashed: true, axis: 'y2', data: h.map((e) => ({ x: e.epoch, y: e.lr })) },
    ],
    x: { title: 'epoch', type: 'linear', format: 'int', min: 1, max: Math.max(2, h.length), stepSize: 1 },
    y: { title: 'training loss', type: 'linear', format: 'num' },
    y2: { title: 'learning rate', type: 'linear', format: 'num', beginAtZero: true },
    legend: true,
  });
  const st = r.student.test;
  if (st) {
    const series: ChartSpec['series'] = [];
    if (tt) series.push({ label: 'teacher', color: COLORS.teacher, data: tt.perClass.map((c) => rate(c.errors, c.total)) });
    series.push({ label: 'student', color: COLORS.distilled, data: st.perClass.map((c) => rate(c.errors, c.total)) });
    out.push({
      id: 'run-per-class',
      kind: 'bar',
      labels: r.data.classNames,
      series,
      x: { title: 'true class', type: 'category' },
      y: { title: 'test error rate', type: 'linear', format: 'pct', beginAtZero: true },
      legend: true,
    });
  }
  const models = r.teacher ? [r.teacher, r.student] : [r.student];
  const batches = [...new Set(models.flatMap((m) => m.inference.map((p) => p.batch)))].sort((a, b) => a - b);
  if (batches.length) {
    // Batch 1 and batch 256 differ by orders of magnitude: a log axis, ticks at powers of ten.
    const all = models.flatMap((m) => m.inference.map((p) => p.msPerExample));
    const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
    const ticks: number[] = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(+v.toPrecision(1));
    out.push({
      id: 'run-speed',
      kind: 'bar',
      labels: batches.map((b) => `batch ${b}`),
      series: models.map((m) => ({ label: m === r.teacher ? 'teacher' : r.teacher ? 'student' : 'model', color: m === r.teacher ? COLORS.teacher : COLORS.distilled, data: batches.map((b) => speed(m, b) ?? null) })),
      x: { title: 'examples per run', type: 'category' },
      y: { title: 'ms per example (log)', type: 'logarithmic', format: 'num', min: lo, max: hi, ticks },
      legend: true,
    });
  }
  return new Map(out.map((c) => [c.id, c]));
}

/** Expected data-points of every chart (id → count), for tests. */
export function expectedRunChartPoints(r: RunReport): Map<string, number> {
  return new Map([...runCharts(r)].map(([id, s]) => [id, countPoints(s)]));
}

const table = (head: string, rows: string, cls = ''): string =>
  `<div class="table-wrap"><table${cls ? ` class="${cls}"` : ''}><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;

function accuracyTable(r: RunReport): string {
  const list: [string, ModelEntry][] = r.teacher ? [['teacher', r.teacher], ['student', r.student]] : [['model', r.student]];
  const rows = list
    .filter(([, m]) => m.test !== undefined)
    .map(([label, m]) => {
      const t = m.test!;
      return `<tr><td>${e(label)}</td><td>${e(m.description)}</td><td class="num ours">${fmtInt(t.errors)}</td><td class="num">${pct(1 - rate(t.errors, t.total), 2)}</td><td class="num">${fmtInt(Math.floor(t.interval.lo))}–${fmtInt(Math.ceil(t.interval.hi))}</td></tr>`;
    })
    .join('');
  return table(`<tr><th>model</th><th>what</th><th class="num">test errors</th><th class="num">accuracy</th><th class="num">95% interval (errors)</th></tr>`, rows);
}

function pairedText(c: NonNullable<RunReport['comparison']>, testN: number): string {
  const verdict =
    c.pValue < 0.05
      ? `At the 5% level the two differ: the ${c.onlyStudentWrong > c.onlyTeacherWrong ? 'teacher' : 'student'} is the better one on this test set.`
      : 'At the 5% level this is no evidence that they differ: the split is within what chance gives two equally good models.';
  return `<p class="cap" style="margin-top:10px">Paired on the same ${fmtInt(testN)} test examples (exact McNemar test): the student gets <b>${fmtInt(c.onlyStudentWrong)}</b> wrong that the teacher gets right, the teacher <b>${fmtInt(c.onlyTeacherWrong)}</b> that the student gets right; ${pIs(c.pValue)}. ${verdict} The intervals are exact (Clopper–Pearson) on each model’s error count.</p>`;
}

function perClassTable(r: RunReport): string {
  const st = r.student.test!;
  const tt = r.teacher?.test;
  const rows = r.data.classNames
    .map((name, k) => {
      const s = st.perClass[k];
      const t = tt?.perClass[k];
      return `<tr><td>${e(name)}</td><td class="num">${fmtInt(s.total)}</td>${t ? `<td class="num">${fmtInt(t.errors)} <span class="sub">${pct(rate(t.errors, t.total))}</span></td>` : ''}<td class="num ours">${fmtInt(s.errors)} <span class="sub">${pct(rate(s.errors, s.total))}</span></td></tr>`;
    })
    .join('');
  return table(`<tr><th>class</th><th class="num">test examples</th>${tt ? '<th class="num">teacher errors</th>' : ''}<th class="num">student errors</th></tr>`, rows, 'compact');
}

/** A confusion matrix as a table; off-diagonal cells shaded by their share of the row. */
export function confusionTable(t: TestEval, names: readonly string[]): string {
  const head = `<tr><th>true ↓ · predicted →</th>${names.map((n) => `<th class="num">${e(n)}</th>`).join('')}</tr>`;
  const rows = t.confusion
    .map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((v, j) => {
          const share = n > 0 ? v / n : 0;
          const bg = i === j ? 'background:#ecfdf5' : v > 0 ? `background:rgba(225,29,72,${Math.min(0.7, 0.08 + 3 * share).toFixed(3)})` : '';
          return `<td class="num" style="${bg}" title="${e(`${names[i]} predicted as ${names[j]}: ${v} of ${n}`)}">${v}</td>`;
        })
        .join('');
      return `<tr><th>${e(names[i])}</th>${cells}</tr>`;
    })
    .join('');
  return table(head, rows, 'compact confusion');
}

function sizeTable(r: RunReport): string {
  const models = r.teacher ? [['teacher', r.teacher] as const, ['student', r.student] as const] : [['model', r.student] as const];
  const batches = [...new Set(models.flatMap(([, m]) => m.inference.map((p) => p.batch)))].sort((a, b) => a - b);
  const row = (label: string, m: ModelEntry) =>
    `<tr><td>${e(label)}</td><td>${e(m.files.join(', '))}</td><td class="num">${fmtInt(m.weights)}</td><td class="num">${fmtBytes(m.fileBytes)}</td>${batches
      .map((b) => `<td class="num">${speed(m, b) === undefined ? '—' : fmtMs(speed(m, b)!)}</td>`)
      .join('')}</tr>`;
  let ratio = '';
  if (r.teacher) {
    const t = r.teacher;
    const s = r.student;
    ratio = `<tr class="group"><td>teacher ÷ student</td><td></td><td class="num">${times(t.weights / Math.max(1, s.weights))}</td><td class="num">${times(t.fileBytes / Math.max(1, s.fileBytes))}</td>${batches
      .map((b) => {
        const a = speed(t, b);
        const c = speed(s, b);
        return `<td class="num">${a !== undefined && c !== undefined ? times(a / c) : '—'}</td>`;
      })
      .join('')}</tr>`;
  }
  return table(
    `<tr><th>model</th><th>file</th><th class="num">weights</th><th class="num">on disk</th>${batches.map((b) => `<th class="num">per example, batch ${b}</th>`).join('')}</tr>`,
    models.map(([l, m]) => row(l, m)).join('') + ratio,
  );
}

function settingsPanel(r: RunReport): string {
  const pairs: [string, string][] = [
    ['data', r.data.source],
    ['classes', String(r.data.classes)],
    ['trained on', `${fmtInt(r.data.trainSize)} examples`],
    ...(r.data.transfer ? ([['transfer set', r.data.transfer]] as [string, string][]) : []),
    ...(r.data.heldOutSize ? ([['held out', `${fmtInt(r.data.heldOutSize)} training examples, scored after each epoch`]] as [string, string][]) : []),
    ['test set', r.data.testSize ? `${fmtInt(r.data.testSize)} examples` : 'none'],
    ...r.settings.map((s): [string, string] => [s.label, s.value]),
    ['wall time', duration(r.seconds)],
    ['report made', readableTime(r.createdAt)],
  ];
  return panel('Settings', '', `<dl class="kv">${pairs.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`);
}

/** Render a run report as one self-contained HTML page (deterministic for a given input). */
export function renderRunReport(r: RunReport): string {
  const charts = runCharts(r);
  const distill = r.kind === 'distill' && r.teacher !== undefined;
  const s = r.student;
  const st = s.test;
  let n = 0;
  const sections: string[] = [];
  if (st) {
    sections.push(
      section(
        ++n,
        'accuracy',
        distill ? 'Teacher and student on the test set' : 'The model on the test set',
        `Test errors out of ${fmtInt(r.data.testSize)} test examples, with exact 95% intervals.`,
        `<div class="panel">${accuracyTable(r)}${r.comparison ? pairedText(r.comparison, r.data.testSize) : ''}</div>`,
      ),
    );
    sections.push(
      section(
        ++n,
        'per-class',
        'Errors per class',
        'Which classes the errors fall on, by true class.',
        `<div class="grid2">${panel('Test error rate per class', '', chartBox('run-per-class', 'test error rate per class'))}${panel('Per class', '', perClassTable(r))}</div>`,
      ),
    );
    const mats = [panel(distill ? 'Student' : 'Model', 'Rows: true class; columns: predicted class. Shading: the share of the row.', confusionTable(st, r.data.classNames))];
    if (r.teacher?.test) mats.push(panel('Teacher', 'Rows: true class; columns: predicted class.', confusionTable(r.teacher.test, r.data.classNames)));
    sections.push(section(++n, 'confusion', 'Confusion matrices', 'Counts of test examples by true and predicted class; the diagonal is right.', `<div class="grid2">${mats.join('')}</div>`));
  }
  sections.push(
    section(
      ++n,
      'curves',
      'Training, epoch by epoch',
      r.data.heldOutSize ? 'Held-out errors are on training examples kept out of training; they, not the test set, are what to choose settings on.' : 'Error rates after each epoch; the training rate is the running one over the epoch.',
      `<div class="grid2">${panel('Error rate per epoch', '', chartBox('run-errors', 'error rate per epoch'))}${panel('Training loss and learning rate', distill ? 'The loss is the run’s own objective: α·T²·soft + (1 − α)·hard.' : 'Cross-entropy on the hard labels.', chartBox('run-loss', 'training loss and learning rate per epoch'))}</div>`,
    ),
  );
  sections.push(
    section(
      ++n,
      'size',
      distill ? 'What distillation saves' : 'Size and speed',
      'Weights stored in the ONNX file, bytes on disk, and measured inference time per example (median over repeated runs of one batch, on this machine, through onnxruntime).',
      `${panel('Size and inference time', '', sizeTable(r))}<div style="margin-top:18px">${panel('Inference time per example', 'Log scale.', chartBox('run-speed', 'inference time per example', 'short'))}</div>`,
    ),
  );
  sections.push(section(++n, 'run', 'The run', '', settingsPanel(r)));
  const body = sections.join('\n');
  const missing = [...charts.keys()].filter((id) => !body.includes(`data-chart="${id}"`));
  if (missing.length) throw new Error(`renderRunReport: no container for chart(s) ${missing.join(', ')}`);

  const cards = distill
    ? `${modelCard('Teacher', 'var(--teacher)', r.teacher!)}${modelCard('Student', 'var(--distilled)', s)}${compressionCard(s, r.teacher!)}${r.comparison ? agreementCard(r.comparison) : ''}`
    : modelCard('Model', 'var(--distilled)', s);
  const toc = tocNav(body);
  const title = distill ? `${s.description} distilled from ${r.teacher!.description}` : `${s.description} trained on ${r.data.source}`;
  const chips = [
    `data <b>${e(r.data.source)}</b>`,
    `${r.data.classes} classes`,
    `${r.history.length} epoch${r.history.length === 1 ? '' : 's'}`,
    ...(r.comparison ? [`T <b>${r.comparison.T}</b>`] : []),
    `wall time <b>${e(duration(r.seconds))}</b>`,
  ];
  return htmlPage({
    title: `${distill ? 'Distillation' : 'Training'} report — ${r.model.split(/[\\/]/).pop()}`,
    generator: r.generator,
    hero: `<div class="kicker">dark-knowledge · ${distill ? 'distillation' : 'training'} report</div>
<h1>${e(title)}</h1>
<p class="lede">Saved as <code>${e(r.model)}</code>. ${distill ? 'How the student compares with its teacher: accuracy, where each errs, how often they agree, and what the smaller model saves.' : 'Accuracy, where it errs, how it trained, and its size and speed.'}</p>
<div class="chips">${chips.map((c) => `<span class="chip">${c}</span>`).join('')}</div>`,
    main: `<div class="cards${distill ? '' : ' one'}">${cards}</div>
${toc}
${body}`,
    footer: `Generated by ${e(r.generator)} from the run’s report JSON (run report v${r.schemaVersion}, documented in src/report/SCHEMA.md; <code>dk report --results FILE.report.json</code> renders it again). Charts: Chart.js (MIT), inlined.`,
    data: { charts: [...charts.values()], digits: [] },
  });
}
