import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countPoints, buildCharts } from '../../src/report/charts.js';
import { fmtProb, gapClosed, pct, targets } from '../../src/report/derive.js';
import { heatmapSvg, legendTicks, viridis } from '../../src/report/heatmap.js';
import { escapeHtml, jsonForScript } from '../../src/report/escape.js';
import { exampleResults } from '../../src/report/example.js';
import { renderReport } from '../../src/report/html.js';
import type { Results } from '../../src/report/schema.js';
import { validateResults } from '../../src/report/validate.js';
import { errorInterval } from '../../src/util/stats.js';

const html = renderReport(exampleResults());

/** Every data-chart id in the page. */
const chartIds = (page: string): string[] => [...page.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);

test('the page is self-contained: no external src, href, url() or import', () => {
  assert.doesNotMatch(html, /\b(?:src|action|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  // External addresses only as links for the reader to follow (the paper on arXiv), never on anything the page loads.
  const external = [...html.matchAll(/<(\w+)\b[^>]*\bhref\s*=\s*["']?\s*((?:https?:)?\/\/[^"' >]*)/gi)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(external, ['a https://arxiv.org/abs/1503.02531']);
  assert.doesNotMatch(html, /url\(\s*["']?\s*(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/i);
  assert.doesNotMatch(html, /<script[^>]+\bsrc=/i);
  assert.doesNotMatch(html, /<link[^>]+rel=["']?stylesheet/i);
  // Chart.js is inlined.
  assert.match(html, /Chart\.js v4\.5\.1/);
  assert.ok(html.length > 200_000);
});

test('rendering is deterministic', () => {
  assert.equal(renderReport(exampleResults()), html);
});

test('user strings are escaped in markup and cannot end the data <script>', () => {
  const r = exampleResults();
  r.ensemble.members[0].name = '<img src=x onerror="alert(1)">';
  r.teacher.arch = 'A&B <b>bold</b>';
  r.notes = ['</script><script>alert(2)</script>', "it's \"quoted\""];
  r.config.profile = '<i>p</i>';
  r.darkKnowledge.classNames[3] = '<three>';
  validateResults(r);
  const page = renderReport(r);
  assert.ok(!page.includes('<img src=x'), 'raw tag leaked');
  assert.ok(!page.includes('<b>bold</b>'));
  assert.ok(!page.includes('<i>p</i>'));
  assert.ok(!page.includes('<three>'));
  assert.ok(page.includes('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'));
  assert.ok(page.includes('A&amp;B &lt;b&gt;bold&lt;/b&gt;'));
  assert.ok(page.includes('it&#39;s &quot;quoted&quot;'));
  // Only the page's own three scripts open and close.
  assert.equal((page.match(/<script/gi) ?? []).length, 3);
  assert.equal((page.match(/<\/script/gi) ?? []).length, 3);
});

test('escape helpers', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const s = jsonForScript({ a: '</script><!--', b: '\u2028' });
  assert.ok(!s.includes('<'));
  assert.deepEqual(JSON.parse(s), { a: '</script><!--', b: '\u2028' });
});

test('every chart has exactly one container, with data to draw', () => {
  const ids = chartIds(html);
  assert.equal(new Set(ids).size, ids.length, `duplicate containers: ${ids}`);
  const specs = buildCharts(exampleResults());
  for (const [id, spec] of specs) {
    assert.ok(ids.includes(id), `no container for ${id}`);
    assert.ok(countPoints(spec) > 0, `${id} has no data`);
  }
  for (const id of ['curves-errors', 'curves-loss', 'omit3', 'only78', 'fraction3', 'temp-30', 'temp-300', 'ensemble', 'alpha', 'specialists-0', 'timings', 'similarity', 'dk-0', 'digit-0']) {
    assert.ok(ids.includes(id), `missing chart ${id}`);
  }
});

test('missing optional sections are omitted cleanly', () => {
  const r = JSON.parse(JSON.stringify(exampleResults())) as Results;
  delete r.alphaSweep;
  delete r.specialists;
  delete r.notes;
  delete r.only78.curve;
  validateResults(r);
  const page = renderReport(r);
  const ids = chartIds(page);
  for (const id of ['alpha', 'specialists-0', 'only78-curve']) assert.ok(!ids.includes(id), `${id} should be absent`);
  assert.ok(!page.includes('id="specialists"'));
  assert.ok(!page.includes('Notes from the run'));
  for (const id of buildCharts(r).keys()) assert.ok(ids.includes(id));
});

test('the example banner shows only for the example profile', () => {
  assert.match(html, /Example data\./);
  const r = exampleResults();
  r.config.profile = 'full';
  assert.doesNotMatch(renderReport(r), /Example data\./);
});

test('derived numbers: gap closed and targets', () => {
  assert.equal(gapClosed(146, 67, 74)?.toFixed(3), '0.911');
  assert.equal(gapClosed(60, 67, 50), null);
  const r = exampleResults();
  const t = targets(r);
  assert.equal(t.length, 6);
  assert.ok(t.every((x) => x.met));
  r.distilled.testErrors = 150;
  assert.equal(targets(r)[0].met, false);
});

test('the results table shows ours beside the paper', () => {
  assert.match(html, /<td class="num ours">71<\/td><td class="num">67<\/td>/);
  assert.match(html, /<td class="num ours">139<\/td><td class="num">146<\/td>/);
  assert.match(html, /<td class="num ours">80<\/td><td class="num">74<\/td>/);
});

test('the training-loss chart draws each run relative to its first epoch, so the distilled loss (hundreds of times larger) moves too', () => {
  const r = exampleResults();
  // A distilled objective on the scale the paper job reports (the T²-weighted soft term, ~800).
  r.distilled.curve = r.distilled.curve.map((p, i) => ({ ...p, trainLoss: 812 - 6 * i }));
  const spec = buildCharts(r).get('curves-loss')!;
  assert.equal(spec.y.type, 'linear');
  assert.equal(spec.y.min, 0);
  for (const s of spec.series) {
    const ys = (s.data as { y: number }[]).map((p) => p.y);
    assert.equal(ys[0], 1, `${s.label} starts at 100%`);
    assert.ok(Math.max(...ys) <= (spec.y.suggestedMax ?? 1) + 1e-12, `${s.label} within the axis`);
    assert.ok(1 - Math.min(...ys) > 0.05, `${s.label} moves by ${1 - Math.min(...ys)} of its start`);
  }
  const html = renderReport(r);
  assert.match(html, /Epoch 1: teacher [\d.]+, hard student [\d.]+, distilled student 812/);
});

test('a sticky table of contents lists every section and links the paper and results.json', () => {
  const nav = /<nav class="toc"[^>]*>(.*?)<\/nav>/.exec(html)?.[1] ?? '';
  const ids = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(ids.length >= 8);
  assert.deepEqual([...nav.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]), ids);
  assert.match(nav, /href="results\.json"/);
  assert.match(nav, /href="https:\/\/arxiv\.org\/abs\/1503\.02531"/);
});

test('scales: the similarity colours span the data, the dark-knowledge panels share one floor, the 3% chart plots error rates on a log axis', () => {
  const m = [
    [0.28, 0.05, 0.1],
    [0.07, 0.2, 0.12],
    [0.09, 0.06, 0.25],
  ];
  const svg = heatmapSvg(m, ['a', 'b', 'c'], { rowTitle: 'true class', colTitle: 'soft output' });
  const fills = [...svg.matchAll(/<rect class="cell" data-v="([\d.]+)"[^>]*fill="(#[0-9a-f]{6})"/g)].map((x) => ({ v: Number(x[1]), fill: x[2] }));
  assert.equal(fills.find((f) => f.v === 0.05)?.fill, viridis(0), 'the smallest value gets the bottom of the scale');
  assert.equal(fills.find((f) => f.v === 0.28)?.fill, viridis(1), 'the largest value gets the top');
  const ticks = [...svg.matchAll(/<text class="hm-label" x="[\d.]+" y="[\d.]+" dominant-baseline="central">([^<]+)<\/text>/g)].map((x) => Number(x[1]));
  assert.ok(ticks.length >= 2 && ticks.every((t) => t >= 0.05 && t <= 0.28), `legend ticks ${ticks}`);
  assert.deepEqual(legendTicks(0.05, 0.28), [0.05, 0.1, 0.2]);

  const charts = buildCharts(exampleResults());
  const floors = new Set([...charts.values()].filter((c) => c.id.startsWith('dk-')).map((c) => c.y.min));
  assert.equal(floors.size, 1, `floors ${[...floors]}`);
  const f3 = charts.get('fraction3')!;
  assert.equal(f3.y.type, 'logarithmic');
  const last = (s: number) => (f3.series[s].data as { y: number | null }[]).at(-1)!.y!;
  const r = exampleResults();
  assert.ok(Math.abs(last(0) - (1 - r.fraction3.hard.curve.at(-1)!.testAccuracy)) < 1e-12);
  assert.ok(f3.y.min! <= last(2) && last(2) <= f3.y.max!);
  // The held-out curves that chose the epoch kept, dotted beside the test curves, inside the axis.
  const held = f3.series.filter((s) => /held-out/.test(s.label));
  assert.deepEqual(held.map((s) => [s.label, s.dashed]), [['hard targets, held-out', 'dotted'], ['soft targets, held-out', 'dotted']]);
  const hy = (held[1].data as { y: number | null }[]).map((p) => p.y!);
  assert.deepEqual(hy, r.fraction3.soft.curve.map((p) => 1 - p.heldOutAccuracy!));
  assert.ok(hy.every((y) => f3.y.min! <= y && y <= f3.y.max!));
});

test('percentages: a typographic minus for negatives, never a minus zero', () => {
  assert.deepEqual([-0.64, 0.5, -0.00001, 0].map((x) => pct(x, 0)), ['−64%', '50%', '0%', '0%']);
  assert.equal(pct(-0.1234), '−12.3%');
  const markup = html.slice(html.indexOf('<body'), html.indexOf('<script'));
  assert.ok(!/[\s(>]-\d+(\.\d+)?%/.test(markup), 'no hyphen-minus percentages in the text');
});

test('one probability format: decimals down to 0.001, then m×10⁻ⁿ', () => {
  assert.deepEqual([0.28, 0.05, 0.1, 0.0032, 0.001, 3.2e-5, 1e-4, 0.999, 0].map(fmtProb), ['0.28', '0.05', '0.1', '0.0032', '0.001', '3.2×10⁻⁵', '10⁻⁴', '1', '0']);
  const markup = html.slice(0, html.indexOf('<script'));
  assert.ok(!/\d\.?\d*e-\d/.test(markup), 'no 7e-2 style numbers in the text');
});

test('wording: the seed in the tab title, intervals on the cards as in the significance section, config keys as words', () => {
  const r = exampleResults();
  r.config.seed = 7;
  const page = renderReport(r);
  assert.match(page, /<title>Dark knowledge on MNIST — example run, seed 7<\/title>/);
  const iv = r.significance!.intervals.find((i) => i.name === 'teacher')!;
  assert.ok(page.includes(`95% interval ${Math.round(iv.lo)}–${Math.round(iv.hi)}</div>`));
  assert.ok(page.includes('<dt>batch size</dt>') && !page.includes('<dt>batchSize</dt>'));
  assert.ok(page.includes('<dt>only 7s and 8s</dt>') && !page.includes('<dt>only78</dt>'));
  assert.doesNotMatch(page, /<dd>\d{4}-\d\d-\d\dT/, 'no ISO timestamps shown');
  assert.match(page, /class="cards-key">Badges: our test errors minus the paper’s/);
});

test('colours are told by legends, not named in captions', () => {
  const caps = [...html.matchAll(/<p class="(?:cap|intro)"[^>]*>(.*?)<\/p>/g)].map((m) => m[1]);
  for (const c of caps) assert.doesNotMatch(c, /\((?:indigo|rose|green|violet)\b/, c);
  assert.match(html, /<div class="swatches"><span class="swatch"><i style="background:#4f46e5"><\/i>members<\/span>/);
});

test('the T and α sweeps carry each point’s exact 95% interval as a shaded band', () => {
  const r = exampleResults();
  const charts = buildCharts(r);
  for (const id of ['temp-30', 'alpha']) {
    const spec = charts.get(id)!;
    const [lo, hi, main] = spec.series;
    assert.deepEqual([lo.area, hi.area, main.area], ['lower', 'upper', undefined], id);
    (main.data as { x: number; y: number }[]).forEach((p, i) => {
      const iv = errorInterval(p.y, r.dataset.testSize);
      assert.equal((lo.data as { y: number }[])[i].y, iv.lo);
      assert.equal((hi.data as { y: number }[])[i].y, iv.hi);
      assert.ok(iv.lo < p.y && p.y < iv.hi);
    });
  }
});

test('the three main models’ errors by class: one bar per class and model, with the data results.json holds; absent without it', () => {
  const r = exampleResults();
  const spec = buildCharts(r).get('by-class')!;
  assert.deepEqual(spec.labels, r.darkKnowledge.classNames);
  assert.deepEqual(
    spec.series.map((s) => s.data),
    [r.teacher.testErrorsByClass, r.hard.testErrorsByClass, r.distilled.testErrorsByClass],
  );
  assert.match(html, /<section id="curves">[\s\S]*data-chart="by-class"[\s\S]*<section id="dark-knowledge">/);
  const old = exampleResults();
  delete old.hard.testErrorsByClass;
  assert.ok(!buildCharts(old).has('by-class'));
  assert.doesNotMatch(renderReport(old), /data-chart="by-class"/);
});
