import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { checkReportInBrowser, layoutProblems, type BrowserCheck } from '../../src/report/browser.js';
import { exampleResults } from '../../src/report/example.js';
import { expectedChartPoints } from '../../src/report/html.js';
import type { Results } from '../../src/report/schema.js';
import { writeReport } from '../../src/report/write.js';
import { summariseSeeds } from '../../src/report/seeds.js';
import { expectedSeedsChartPoints, renderSeedsReport } from '../../src/report/seeds-html.js';
import { seedRun } from './seed-runs.js';

/**
 * Opens the rendered example in Debian's headless Chromium (apt-get install chromium; .ci/run
 * installs it). The screenshots stay in runs/report-browser/ (or $DK_REPORT_ARTIFACTS), printed.
 */
const root = process.env.DK_REPORT_ARTIFACTS ?? fileURLToPath(new URL('../../../runs/report-browser/', import.meta.url));

/** No page or console error, no request off the machine. */
function assertClean(check: BrowserCheck): void {
  assert.deepEqual(check.pageErrors, []);
  assert.deepEqual(check.consoleErrors, []);
  assert.deepEqual(check.externalRequests, []);
}

async function renderAndCheck(t: { diagnostic(msg: string): void }, name: string, results: Results): Promise<void> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const { reportPath } = writeReport(dir, results);
  const shot = join(dir, 'screenshot.png');
  const check = await checkReportInBrowser(reportPath, shot);
  t.diagnostic(`screenshot: ${shot}`);
  assertClean(check);
  assert.ok(check.charts.length > 10, `only ${check.charts.length} charts`);
  for (const c of check.charts) {
    assert.equal(c.rendered, true, `chart ${c.id} did not render`);
    assert.ok(c.points > 0, `chart ${c.id} drew no points`);
  }
  // Chart.js charts drew exactly the values the specs hold.
  const drawn = new Map(check.charts.map((c) => [c.id, c.points]));
  for (const [id, n] of expectedChartPoints(results)) assert.equal(drawn.get(id), n, `chart ${id}`);
  const png = statSync(shot);
  assert.ok(png.size > 50_000, 'screenshot too small to be the page');
}

test('the example report renders every chart in headless Chromium without errors', async (t) => {
  await renderAndCheck(t, 'example', exampleResults());
});

test('at 1400 and 400 px nothing on the paper report is wider than the viewport, and every table scrolls in its own container', async (t) => {
  const dir = join(root, 'widths');
  mkdirSync(dir, { recursive: true });
  const { reportPath } = writeReport(dir, exampleResults());
  for (const width of [1400, 400]) {
    const shot = join(dir, `screenshot-${width}.png`);
    const check = await checkReportInBrowser(reportPath, shot, { viewport: { width, height: 900 } });
    t.diagnostic(`screenshot: ${shot}`);
    assertClean(check);
    assert.ok(check.layout.tableContainers.length >= 4, `${check.layout.tableContainers.length} tables`);
    assert.deepEqual(layoutProblems(check.layout), [], `at ${width} px`);
  }
});

test('a report without the optional sections renders cleanly too', async (t) => {
  const r = JSON.parse(JSON.stringify(exampleResults())) as Results;
  delete r.alphaSweep;
  delete r.specialists;
  delete r.only78.curve;
  r.config.profile = 'quick';
  await renderAndCheck(t, 'minimal', r);
});

test('the seeds summary page renders its charts in headless Chromium without errors', async (t) => {
  const dir = join(root, 'seeds');
  mkdirSync(dir, { recursive: true });
  const rs = [seedRun(1, 76, 144, 97), seedRun(2, 78, 140, 90), seedRun(3, 71, 150, 100)];
  const s = summariseSeeds(rs.map((results, i) => ({ source: `s${i + 1}/results.json`, results })));
  const page = join(dir, 'seeds.html');
  writeFileSync(page, renderSeedsReport(s, rs));
  const shot = join(dir, 'screenshot.png');
  const check = await checkReportInBrowser(page, shot);
  t.diagnostic(`screenshot: ${shot}`);
  assertClean(check);
  const want = expectedSeedsChartPoints(s, rs);
  assert.deepEqual(new Map(check.charts.map((c) => [c.id, c.points])), want);
  assert.ok(check.charts.every((c) => c.rendered), JSON.stringify(check.charts));
  assert.deepEqual([...want.values()], [9, 3]); // three models × three seeds; one gap per seed
  const narrow = await checkReportInBrowser(page, join(dir, 'screenshot-400.png'), { viewport: { width: 400, height: 900 } });
  assertClean(narrow);
  assert.deepEqual(layoutProblems(narrow.layout), [], 'the seeds page at 400 px');
});

test('a missing Chromium is a clear error', async () => {
  const html = join(root, 'empty.html');
  writeFileSync(html, '<!doctype html><title>x</title>');
  await assert.rejects(checkReportInBrowser(html, join(root, 'x.png'), { executablePath: '/nonexistent/chromium' }), /Chromium not found at \/nonexistent\/chromium.*apt-get install/);
});
