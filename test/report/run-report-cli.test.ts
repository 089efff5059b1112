/**
 * Run reports end to end: a tiny `dk train` (the teacher) and `dk distill` on a 600/300 MNIST
 * subset write `<out>.report.html` and `.report.json` by default; the JSON's numbers agree with
 * what the runs print and with the saved models run by plain onnxruntime-node; --report and
 * --no-report; a bad --report path is refused before training; `dk report` renders the same page
 * again. Then the distillation report in headless Chromium at 1400 and 400 px: every chart drawn
 * with its data, no console error, no request, nothing wider than the viewport. Screenshots go to
 * runs/report-browser/ (or $DK_REPORT_ARTIFACTS).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { loadData } from '../../src/data/load.js';
import { checkReportInBrowser, layoutProblems } from '../../src/report/browser.js';
import { expectedRunChartPoints } from '../../src/report/run-html.js';
import { type RunReport, validateRunReport } from '../../src/report/run-schema.js';
import { mcnemar, wrongMask } from '../../src/util/stats.js';
import { dk, tempDir, writeMnistSubset } from '../cli/helpers.js';

const ARTIFACTS = process.env.DK_REPORT_ARTIFACTS ?? fileURLToPath(new URL('../../../runs/report-browser/', import.meta.url));

const readReport = (path: string): RunReport => {
  const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
  validateRunReport(v);
  return v;
};

/** Test-set argmax of a saved MLP, by onnxruntime-node directly. */
async function predictions(model: string, x: Float32Array, n: number): Promise<Int32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [n, 784]) }))[s.outputNames[0]].data as Float32Array;
  const C = out.length / n;
  return Int32Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < C; k++) if (out[i * C + k] > out[i * C + best]) best = k;
    return best;
  });
}

describe('run reports of dk train and dk distill', { timeout: 300_000 }, () => {
  const root = tempDir('dk-run-report-');
  const cwd = root.dir;
  const data = join(cwd, 'data');
  let trainOut = '';
  let distillOut = '';
  before(() => {
    writeMnistSubset(data, 600, 300);
    const t = dk(['train', '--model', 'mlp:64', '--data', data, '--epochs', '3', '--threads', '1', '--out', 't.onnx'], cwd, 120_000);
    assert.equal(t.status, 0, t.stderr);
    trainOut = t.stdout;
    const d = dk(['distill', '--teacher', 't.onnx', '--student', 'mlp:16', '--data', data, '--epochs', '3', '--temperature', '4', '--holdout', '100', '--threads', '1', '--no-cache', '--out', 's.onnx'], cwd, 120_000);
    assert.equal(d.status, 0, d.stderr);
    distillOut = d.stdout;
  });
  after(() => root.cleanup());

  it('dk train writes <out>.report.html and .report.json by default, matching the run', () => {
    assert.match(trainOut, /report: .*t\.onnx\.report\.html\n$/);
    const r = readReport(join(cwd, 't.onnx.report.json'));
    assert.ok(readFileSync(join(cwd, 't.onnx.report.html'), 'utf8').startsWith('<!doctype html>'));
    assert.equal(r.kind, 'train');
    assert.equal(r.teacher, undefined);
    const m = /test errors (\d+)\/300/.exec(trainOut);
    assert.equal(r.student.test?.errors, Number(m?.[1]));
    assert.equal(r.student.weights, Number(/\(([\d,]+) parameters/.exec(trainOut)![1].replace(/,/g, '')));
    assert.equal(r.student.fileBytes, readFileSync(join(cwd, 't.onnx')).length);
    assert.equal(r.history.length, 3);
    assert.equal(r.history[2].testErrors, r.student.test?.errors);
    assert.deepEqual(r.student.inference.map((p) => p.batch), [1, 256]);
    for (const p of r.student.inference) assert.ok(p.msPerExample > 0 && p.repeats >= 5, JSON.stringify(p));
  });

  it('dk distill’s report agrees with the printed errors and with the saved models run by onnxruntime-node', async () => {
    const r = readReport(join(cwd, 's.onnx.report.json'));
    assert.equal(r.kind, 'distill');
    assert.equal(r.student.test?.errors, Number(/; test errors (\d+)\/300/.exec(distillOut)?.[1]));
    assert.equal(r.teacher?.test?.errors, Number(/teacher test errors (\d+)\/300/.exec(distillOut)?.[1]));
    assert.equal(r.data.heldOutSize, 100);
    assert.equal(r.history[2].heldOutErrors, Number(/held-out errors (\d+)\/100/.exec(distillOut)?.[1]));
    assert.equal(r.data.trainSize, 500);
    const { test } = loadData(data);
    const ps = await predictions(join(cwd, 's.onnx'), test.x, test.n);
    const pt = await predictions(join(cwd, 't.onnx'), test.x, test.n);
    const m = mcnemar(wrongMask(pt, test.y), wrongMask(ps, test.y));
    assert.equal(r.comparison?.onlyTeacherWrong, m.onlyA);
    assert.equal(r.comparison?.onlyStudentWrong, m.onlyB);
    assert.equal(r.comparison?.pValue, m.pValue);
    assert.equal(r.comparison?.agreement, ps.filter((p, i) => p === pt[i]).length / test.n);
    assert.equal(r.comparison?.T, 4);
    assert.ok(r.comparison!.meanKL > 0);
    // The student's confusion matrix counts its own predictions.
    const conf = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < test.n; i++) conf[test.y[i]][ps[i]]++;
    assert.deepEqual(r.student.test?.confusion, conf);
    assert.equal(r.teacher?.weights, 784 * 64 + 64 + 64 * 10 + 10);
    assert.equal(r.student.weights, 784 * 16 + 16 + 16 * 10 + 10);
  });

  it('dk report renders the same page again from the JSON', () => {
    const again = dk(['report', '--results', 's.onnx.report.json', '--out', 'again.html'], cwd);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(join(cwd, 'again.html'), 'utf8'), readFileSync(join(cwd, 's.onnx.report.html'), 'utf8'));
    const exists = dk(['report', '--results', 's.onnx.report.json'], cwd);
    assert.equal(exists.status, 2);
    assert.match(exists.stderr, /s\.onnx\.report\.html: already exists; pass --force/);
  });

  it('--report FILE writes elsewhere, --no-report writes none, a bad --report is refused before training', () => {
    mkdirSync(join(cwd, 'elsewhere'));
    const a = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--report', 'elsewhere/r.html', '--out', 'a.onnx'], cwd);
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual(readdirSync(join(cwd, 'elsewhere')).sort(), ['r.html', 'r.json']);
    assert.equal(existsSync(join(cwd, 'a.onnx.report.html')), false);
    readReport(join(cwd, 'elsewhere', 'r.json'));
    const b = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--no-report', '--out', 'b.onnx'], cwd);
    assert.equal(b.status, 0, b.stderr);
    assert.doesNotMatch(b.stdout, /report:/);
    assert.deepEqual(readdirSync(cwd).filter((f) => f.startsWith('b.onnx')).sort(), ['b.onnx', 'b.onnx.config.json']);
    const c = dk(['distill', '--teacher', 't.onnx', '--student', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--no-cache', '--report', 'missing/r.html', '--out', 'c.onnx'], cwd);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /--report missing\/r\.html: directory .*missing does not exist/);
    assert.equal(existsSync(join(cwd, 'c.onnx')), false);
    const d = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--report', 'elsewhere/r.html', '--out', 'd.onnx'], cwd);
    assert.equal(d.status, 2);
    assert.match(d.stderr, /--report elsewhere\/r\.html: file exists; pass --force/);
    assert.equal(existsSync(join(cwd, 'd.onnx')), false);
    // The default report belongs to the model: a run that may write the model replaces it.
    const e1 = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--out', 'e.onnx'], cwd);
    assert.equal(e1.status, 0, e1.stderr);
    const first = readReport(join(cwd, 'e.onnx.report.json')).createdAt;
    const e2 = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '2', '--threads', '1', '--force', '--out', 'e.onnx'], cwd);
    assert.equal(e2.status, 0, e2.stderr);
    const again = readReport(join(cwd, 'e.onnx.report.json'));
    assert.equal(again.history.length, 2);
    assert.notEqual(again.createdAt, first);
  });

  it('the distillation report in Chromium: every chart drawn, no error, no request, nothing wider than 400 px', async (t) => {
    const html = join(cwd, 's.onnx.report.html');
    const r = readReport(join(cwd, 's.onnx.report.json'));
    const want = expectedRunChartPoints(r);
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const width of [1400, 400]) {
      const shot = join(ARTIFACTS, `distill-report-${width}.png`);
      const check = await checkReportInBrowser(html, shot, { viewport: { width, height: 900 } });
      t.diagnostic(`screenshot: ${shot}`);
      assert.deepEqual([...check.consoleErrors, ...check.pageErrors, ...check.externalRequests], []);
      assert.deepEqual(new Map(check.charts.map((c) => [c.id, c.points])), want);
      assert.ok(check.charts.every((c) => c.rendered && c.points > 0), JSON.stringify(check.charts));
      assert.equal(check.charts.length, 4);
      assert.equal(check.layout.viewportWidth, width);
      assert.equal(check.layout.tableContainers.length, 5); // accuracy, per class, 2 confusion matrices, size
      assert.deepEqual(layoutProblems(check.layout), [], `at ${width} px`);
    }
  });
});
