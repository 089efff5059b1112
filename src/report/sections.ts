import { COLORS, temperatureColors } from './charts.js';
import { fmtInt, fmtP, fmtProb, pct } from './derive.js';
import { escapeHtml as e } from './escape.js';
import { heatmapSvg } from './heatmap.js';
import { holmRejects } from '../util/stats.js';
import type { Results } from './schema.js';

/** The report's experiment sections. Every string from the results is escaped here. */

export const chartBox = (id: string, title: string, cls = ''): string =>
  `<div class="chart${cls ? ' ' + cls : ''}" data-chart="${e(id)}" data-title="${e(title)}"></div>`;

/** A legend of coloured swatches (for charts whose series are told apart by colour, not by a Chart.js legend). */
export const swatches = (items: { label: string; color: string }[]): string =>
  `<div class="swatches">${items.map((i) => `<span class="swatch"><i style="background:${i.color}"></i>${e(i.label)}</span>`).join('')}</div>`;

/** A table in its own horizontally scrolling container: a wide table scrolls, the page does not. */
export const tableWrap = (table: string, style = ''): string => `<div class="table-wrap"${style ? ` style="${style}"` : ''}>${table}</div>`;

export const panel = (title: string, caption: string, body: string): string =>
  `<div class="panel"><h3>${e(title)}</h3>${caption ? `<p class="cap">${caption}</p>` : ''}${body}</div>`;

const stat = (k: string, v: string, p: string): string =>
  `<div class="stat"><div class="k">${e(k)}</div><div class="v">${v}</div><div class="p">${p}</div></div>`;

/**
 * A sticky table of contents for the sections in `body` (as section() writes them), followed by
 * extra links (label, href), each escaped.
 */
export function tocNav(body: string, links: { label: string; href: string }[] = []): string {
  const items = [...body.matchAll(/<section id="([^"]+)"><h2><span class="num">(\d+)<\/span>([^<]*)<\/h2>/g)].map((m) => `<a href="#${m[1]}">${m[2]}. ${m[3]}</a>`);
  const extra = links.map((l) => `<a class="ext" href="${e(l.href)}">${e(l.label)}</a>`);
  return `<nav class="toc" aria-label="contents">${[...items, ...extra].join('')}</nav>`;
}

export function section(n: number, id: string, title: string, intro: string, body: string): string {
  return `<section id="${e(id)}"><h2><span class="num">${n}</span>${e(title)}</h2><p class="intro">${intro}</p>${body}</section>`;
}

/** A loss value to three significant digits, without exponents. */
const lossText = (v: number): string => (Math.abs(v) >= 100 ? fmtInt(v) : String(+v.toPrecision(3)));

export function curvesSection(r: Results): string {
  return `<div class="grid2">${panel(
    'Test errors per epoch',
    `Log scale; dashed lines: the paper’s final numbers. Teacher ${e(r.teacher.arch)}, students ${e(r.hard.arch)}.`,
    chartBox('curves-errors', 'test errors per epoch'),
  )}${panel(
    'Training loss per epoch',
    `Each run’s own objective as a share of its first epoch’s, so that all three can be read on one axis: the distilled loss includes the T²-weighted soft term and is far larger than the others. Epoch 1: teacher ${lossText(r.teacher.curve[0].trainLoss)}, hard student ${lossText(r.hard.curve[0].trainLoss)}, distilled student ${lossText(r.distilled.curve[0].trainLoss)}; last epoch: ${lossText(r.teacher.curve[r.teacher.curve.length - 1].trainLoss)}, ${lossText(r.hard.curve[r.hard.curve.length - 1].trainLoss)}, ${lossText(r.distilled.curve[r.distilled.curve.length - 1].trainLoss)}.`,
    chartBox('curves-loss', 'training loss per epoch, relative to the first'),
  )}</div>${byClassPanel(r)}`;
}

/** Where each main model's test errors fall, by true class (results.json from before it was recorded: nothing). */
function byClassPanel(r: Results): string {
  const t = r.teacher.testErrorsByClass, h = r.hard.testErrorsByClass, d = r.distilled.testErrorsByClass;
  if (!t || !h || !d) return '';
  const names = r.darkKnowledge.classNames;
  const worst = (v: number[]): string => {
    const k = v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
    return `${e(names[k] ?? String(k))} (${fmtInt(v[k])})`;
  };
  return `<div style="margin-top:16px">${panel(
    'Test errors by class',
    `Which digits each model gets wrong, counted by the true class. Most errors: teacher ${worst(t)}, hard student ${worst(h)}, distilled student ${worst(d)}.`,
    chartBox('by-class', 'test errors by true class'),
  )}</div>`;
}

export function darkKnowledgeSection(r: Results): string {
  const dk = r.darkKnowledge;
  const names = dk.classNames;
  const cards = dk.examples
    .map((ex, i) => {
      const p1 = ex.probs[0];
      const ranked = p1.p.map((v, k) => ({ v, k })).sort((a, b) => b.v - a.v);
      const second = ranked.find((q) => q.k !== ex.label) ?? ranked[1];
      return `<div class="panel dk-card"><div class="digit"><div data-chart="digit-${i}" data-kind="digit" data-title="test image ${ex.testIndex}"></div>
<div class="meta">label <b>${e(names[ex.label] ?? String(ex.label))}</b> · #${ex.testIndex}<br>runner-up <b>${e(names[second.k] ?? String(second.k))}</b><br>${fmtProb(second.v)} at T = ${p1.T}</div></div>
${chartBox(`dk-${i}`, `teacher distribution for test image ${ex.testIndex}`, 'short')}</div>`;
    })
    .join('');
  const colors = temperatureColors(dk.temperatures.length);
  const legend = dk.temperatures.map((t, i) => `<span class="swatch"><i style="background:${colors[i % colors.length]}"></i>T = ${t}</span>`).join('');
  const toggle = `<div class="toolbar"><span>Probability axis</span><div class="toggle" role="group" aria-label="probability axis scale"><button type="button" data-scale="log" aria-pressed="true">log</button><button type="button" data-scale="linear" aria-pressed="false">linear</button></div><span class="legend">${legend}</span></div>`;
  const heat = panel(
    `Class similarity (teacher, T = ${dk.similarity.T})`,
    `${e(dk.similarity.definition)}. Log colour scale; hover a cell for its value.`,
    `<div class="heatmap-wrap" data-chart="similarity" data-kind="svg" data-title="class-similarity matrix">${heatmapSvg(dk.similarity.matrix, names, {
      rowTitle: 'true class',
      colTitle: 'teacher’s soft output',
    })}</div>`,
  );
  const note = panel(
    'Reading it',
    '',
    `<p class="cap" style="margin:0">At T = 1 the teacher is almost certain, and the small probabilities it gives the wrong classes are invisible on a linear axis. Raising T lifts them: a 2 that looks a little like a 7 gets a larger share for 7 than for 4. These ratios are the <em>dark knowledge</em> a student learns from soft targets, and the heatmap shows them averaged over the test set: which digits the teacher considers alike.</p>`,
  );
  return `${toggle}<div class="dk-grid">${cards}</div><div class="grid3" style="margin-top:18px">${heat}${note}</div>`;
}

const atLr = (lr?: number): string => (lr === undefined ? '' : ` at lr ${lr}`);

export function omitSection(r: Results): string {
  const o = r.omit3;
  const p = r.paper.omit3;
  const right = (errs: number): string => pct(1 - errs / o.threesInTest);
  const stats = `<div class="stats">
${stat('Before the bias fix', `${fmtInt(o.before.testErrors)} <small>errors</small>`, `${fmtInt(o.before.threeErrors)} on threes (${right(o.before.threeErrors)} right) · paper ${p.before.testErrors} / ${p.before.threeErrors}`)}
${stat(`After raising the bias of 3 by ${o.offset}`, `${fmtInt(o.after.testErrors)} <small>errors</small>`, `${fmtInt(o.after.threeErrors)} on threes (${right(o.after.threeErrors)} right) · paper ${p.after.testErrors} / ${p.after.threeErrors}`)}
</div><p class="cap" style="margin-top:10px">How the offset was chosen: ${e(o.offsetChoice.method)}; ${fmtInt(o.offsetChoice.heldOutSize)} held-out examples. The test-set curves only display the trade-off.</p>`;
  return `<div class="grid3">${panel('Errors against the bias offset of class 3', `Student ${e(o.arch)}, distilled at T = ${o.T} for ${o.epochs} epochs${atLr(o.lr)} from a transfer set without a single 3.`, chartBox('omit3', 'errors vs bias offset', 'tall'))}${panel('Numbers', '', stats)}</div>`;
}

export function only78Section(r: Results): string {
  const q = r.only78;
  const left = panel('Test error rate', `Student ${e(q.arch)} distilled at T = ${q.T}${atLr(q.lr)} on 7s and 8s only; offset chosen by: ${e(q.offsetChoice.method)}.`, chartBox('only78', 'only 7 and 8: error rate'));
  const right = q.curve
    ? panel('Test errors against the offset', 'Shown for the trade-off only; the offset was chosen on held-out data.', chartBox('only78-curve', 'only 7 and 8: errors vs offset'))
    : panel(
        'Numbers',
        '',
        `<div class="stats">${stat('As trained', pct(q.before.errorRate), `${fmtInt(q.before.testErrors)} errors`)}${stat(`Biases −${q.offset}`, pct(q.after.errorRate), `${fmtInt(q.after.testErrors)} errors`)}</div>`,
      );
  return `<div class="grid2">${left}${right}</div>`;
}

export function fraction3Section(r: Results): string {
  const f = r.fraction3;
  const p = r.paper.fraction3;
  const stats = `<div class="stats">
${stat('Hard targets', pct(f.hard.testAccuracy), `test accuracy · ${pct(f.hard.trainAccuracy)} train<br>epoch ${f.hard.stoppedEpoch} of ${f.hard.epochs} · paper ${pct(p.hard.testAccuracy)}`)}
${stat('Soft targets', pct(f.soft.testAccuracy), `test accuracy · ${pct(f.soft.trainAccuracy)} train<br>epoch ${f.soft.stoppedEpoch} of ${f.soft.epochs} · paper ${pct(p.soft.testAccuracy)}`)}
</div><p class="cap" style="margin-top:10px">Reported epoch: ${e(f.earlyStopping)}. The paper’s numbers are ${e(p.note)}; on all of its data the same system reached ${pct(p.fullData.testAccuracy)}.</p>`;
  return `<div class="grid3">${panel('Error rate per epoch', `Student ${e(f.arch)} on ${fmtInt(f.trainExamples)} training examples; soft targets at T = ${f.T}, α = ${f.alpha}. Error rates (1 − accuracy) on a log scale, so that the last epochs’ difference reads as clearly as the first${f.hard.curve.every((q) => q.heldOutAccuracy !== undefined) ? '; dotted: the held-out split of the training set, which chose the epoch kept' : ''}.`, chartBox('fraction3', '3% of the data: error rate per epoch', 'tall'))}${panel('Numbers', '', stats)}</div>`;
}

export function tempSection(r: Results): string {
  const t = r.tempSweep;
  const panels = t.students.map((s) =>
    panel(`T for ${s.hiddenUnits} units per layer`, `${e(s.arch)}, α = ${t.alpha}, ${t.epochs} epochs per point${s.lr === undefined ? '' : `, lr ${s.lr}`}${s.hardTestErrors === undefined ? '' : '; dashed: same net on hard labels'}; shaded: each point’s exact 95% interval.`, chartBox(`temp-${s.hiddenUnits}`, `temperature sweep, ${s.hiddenUnits} units`)),
  );
  const a = r.alphaSweep;
  if (a) {
    panels.push(panel(`α at T = ${a.T}`, `${e(r.distilled.arch)}, ${a.epochs} epochs per point. α = 1: soft targets only; α = 0: hard labels only. Shaded: each point’s exact 95% interval.`, chartBox('alpha', 'alpha sweep')));
  }
  return `<div class="auto">${panels.join('')}</div>`;
}

export function ensembleSection(r: Results): string {
  const en = r.ensemble;
  const rows = en.members
    .map(
      (m) =>
        `<tr><td>${e(m.name)}${m.recipe ? `<div class="sub">${e(m.recipe)}</div>` : ''}</td><td class="mono">${e(m.arch)}</td><td class="num">${m.seed}</td><td class="num">${m.epochs ?? '—'}</td><td class="num">${fmtInt(m.testErrors)}</td></tr>`,
    )
    .join('');
  const table = tableWrap(`<table class="compact"><thead><tr><th>member</th><th>architecture</th><th class="num">seed</th><th class="num">epochs</th><th class="num">errors</th></tr></thead><tbody>${rows}</tbody></table>`);
  const stats = `<div class="stats three">${stat('Ensemble', fmtInt(en.ensembleTestErrors), e(en.combination))}${stat('Distilled student', fmtInt(en.student.testErrors), `${e(en.student.arch)}, T = ${en.student.T}, α = ${en.student.alpha}, ${en.student.epochs} epochs`)}${stat('Gain kept', pct(en.gainKept, 0), `of the step from the baseline (${fmtInt(en.baseline.testErrors)}) to the ensemble · paper ${pct(r.paper.ensemble.gainKept, 0)} (speech)`)}</div>`;
  return `<div class="grid3">${panel('Test errors', `The baseline is what the gain is measured from: ${e(en.baseline.label)}.`, swatches([
    { label: 'members', color: COLORS.teacher },
    { label: 'baseline', color: COLORS.hard },
    { label: 'ensemble', color: COLORS.violet },
    { label: 'distilled student', color: COLORS.distilled },
  ]) + chartBox('ensemble', 'ensemble test errors') + stats)}${panel('Members', '', table)}</div>`;
}

export function specialistsSection(r: Results): string {
  const s = r.specialists;
  if (!s) return '';
  const pr = new Map(r.paper.specialists.coverage.map((c) => [c.covering, c.relativeChange]));
  return s.runs
    .map((run, i) => {
      const name = (k: number): string => run.classNames?.[k] ?? String(k);
      const groups = `<div class="groups">${run.groups.map((g) => `<span class="grp">{${g.map((k) => e(name(k))).join(', ')}}</span>`).join('')}</div>`;
      const rows = run.coverage
        .map(
          (c) =>
            `<tr><td class="num">${c.covering}</td><td class="num">${fmtInt(c.examples)}</td><td class="num">${c.deltaCorrect > 0 ? '+' : ''}${fmtInt(c.deltaCorrect)}</td><td class="num">${c.relativeChange >= 0 ? '+' : ''}${pct(c.relativeChange)}</td><td class="num">${pr.has(c.covering) ? `+${pct(pr.get(c.covering) ?? 0)}` : '—'}</td></tr>`,
        )
        .join('');
      const timing = run.trainSeconds ? `<p class="cap">Training the specialists: ${run.trainSeconds.map((t) => `${t.workers} worker${t.workers > 1 ? 's' : ''} ${t.seconds.toFixed(1)} s`).join(' · ')}</p>` : '';
      const table = `<p class="cap">Generalist ${e(run.generalistArch)}: ${pct(run.generalist.accuracy, 2)} → with specialists ${pct(run.combined.accuracy, 2)} (${fmtInt(run.generalist.errors)} → ${fmtInt(run.combined.errors)} errors of ${fmtInt(run.testSize)}).</p>${groups}
${tableWrap(`<table><thead><tr><th class="num">covering</th><th class="num">examples</th><th class="num">Δ correct</th><th class="num">relative</th><th class="num">paper</th></tr></thead><tbody>${rows}</tbody></table>`)}${timing}`;
      return `<div class="grid2" style="margin-bottom:18px">${panel(`${run.dataset}: Table 4`, run.description ? e(run.description) : '', table)}${panel('Relative change by specialists covering the correct class', 'Paper: JFT, rows checked by the project.', chartBox(`specialists-${i}`, `specialists ${run.dataset}`))}</div>`;
    })
    .join('');
}


/** Intervals on the main models' test errors and paired tests between them (results.significance). */
export function significanceSection(r: Results): string {
  const sig = r.significance;
  if (!sig) return '';
  const level = `${100 * sig.level}%`;
  const alpha = 1 - sig.level;
  const rejects = holmRejects(sig.comparisons.map((c) => c.pValue), alpha);
  const rows = sig.comparisons
    .map((c, i) => {
      const better = c.aErrors < c.bErrors ? c.a : c.b;
      const reading =
        rejects[i] && c.aErrors !== c.bErrors ? `${e(better)} is better` : c.pValue <= alpha ? 'not after the correction' : 'within the noise';
      return `<tr><td>${e(c.a)} (${fmtInt(c.aErrors)}) <span style="color:var(--muted)">vs</span> ${e(c.b)} (${fmtInt(c.bErrors)})</td><td class="num">${fmtInt(c.onlyA)} / ${fmtInt(c.onlyB)}</td><td class="num">${fmtP(c.pValue)}</td><td>${reading}</td></tr>`;
    })
    .join('');
  const table = tableWrap(`<table class="compact"><thead><tr><th>A (errors) vs B (errors)</th><th class="num">only A / only B wrong</th><th class="num">p</th><th>reading (${+(100 * alpha).toFixed(2)}%, corrected)</th></tr></thead><tbody>${rows}</tbody></table>`);
  return `<div class="grid3" style="margin-top:18px">${panel(
    'How sure are these numbers? Paired comparisons',
    `${e(sig.testMethod)}. Every model sees the same test images, so only the images exactly one of the two gets wrong tell them apart; p is how often a split at least this uneven happens when both models are equally good. The reading allows for making ${sig.comparisons.length} comparisons at once (Holm’s method: the smallest p must be below ${+(100 * alpha).toFixed(2)}%/${sig.comparisons.length}, the next below ${+(100 * alpha).toFixed(2)}%/${Math.max(1, sig.comparisons.length - 1)}, and so on).`,
    table,
  )}${panel(
    `Test errors with ${e(level)} intervals`,
    `${e(sig.intervalMethod)}: the error counts this model would plausibly make on another test set drawn like this one. A target missed by less than the interval’s half-width is missed within the test set’s noise.`,
    chartBox('intervals', 'test errors with intervals'),
  )}</div>`;
}
