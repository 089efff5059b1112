/**
 * The run report's pieces: the test-set numbers (confusion matrix, intervals, McNemar, agreement,
 * KL at T against a float64 reference written out here), the weight count of a saved model, the
 * schema's cross-field checks, escaping, and writing both files or neither.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { countWeights } from '../../src/graph/onnx.js';
import { compareToTeacher, testEval } from '../../src/report/run-measure.js';
import { confusionTable, expectedRunChartPoints, renderRunReport } from '../../src/report/run-html.js';
import { type RunReport, RunReportValidationError, validateRunReport } from '../../src/report/run-schema.js';
import { writeRunReport } from '../../src/report/run-write.js';
import { Network } from '../../src/train/network.js';
import { errorInterval } from '../../src/util/stats.js';

test('testEval: confusion matrix, per-class errors and the exact interval', () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 1, 0, 1, 1, 2, 0, 1, 2];
  const t = testEval(pred, labels, 3);
  assert.deepEqual(t.confusion, [
    [2, 1, 0],
    [0, 2, 0],
    [1, 1, 2],
  ]);
  assert.deepEqual(t.perClass, [
    { total: 3, errors: 1 },
    { total: 2, errors: 0 },
    { total: 4, errors: 2 },
  ]);
  assert.equal(t.errors, 3);
  assert.equal(t.total, 9);
  const iv = errorInterval(3, 9);
  assert.deepEqual(t.interval, { lo: iv.lo, hi: iv.hi, level: 0.95 });
  assert.throws(() => testEval([0, 3], [0, 1], 3), /example 1 has label 1 and prediction 3/);
});

test('compareToTeacher: McNemar counts, top-1 agreement and the mean KL at T against a float64 reference', () => {
  const C = 3;
  const T = 2.5;
  const labels = [0, 1, 2, 0];
  // Teacher log-probabilities (T = 1) and student logits, row-major n × C.
  const tp = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.3, 0.6, 0.1], // teacher wrong (predicts 1)
    [0.5, 0.4, 0.1],
  ];
  const sz = [
    [2.0, 0.5, -1.0],
    [0.0, -0.5, 1.5], // student wrong (predicts 2)
    [0.1, 0.2, 0.9],
    [1.0, 0.9, 0.0],
  ];
  const lp = new Float32Array(tp.flat().map(Math.log));
  const z = new Float32Array(sz.flat());
  const c = compareToTeacher(z, lp, labels, C, T);
  assert.equal(c.onlyTeacherWrong, 1);
  assert.equal(c.onlyStudentWrong, 1);
  assert.equal(c.pValue, 1);
  assert.equal(c.agreement, 2 / 4); // rows 0 and 3 agree
  // Reference: q = p^(1/T) / Σ, s = softmax(z / T), KL = Σ q log(q / s), averaged.
  let ref = 0;
  for (let i = 0; i < 4; i++) {
    const qa = tp[i].map((p) => Math.exp(Math.fround(Math.log(p)) / T)); // the float32 log-probabilities, tempered
    const qs = qa.reduce((a, b) => a + b, 0);
    const sa = sz[i].map((v) => Math.exp(Math.fround(v) / T));
    const ss = sa.reduce((a, b) => a + b, 0);
    for (let k = 0; k < C; k++) ref += (qa[k] / qs) * Math.log(qa[k] / qs / (sa[k] / ss));
  }
  ref /= 4;
  assert.ok(ref > 0.01, `reference KL ${ref}`);
  assert.ok(Math.abs(c.meanKL - ref) < 1e-12, `KL ${c.meanKL} vs reference ${ref}`);
  // Identical distributions: KL 0, full agreement.
  const same = compareToTeacher(lp, lp, labels, C, T);
  assert.ok(same.meanKL < 1e-12);
  assert.equal(same.agreement, 1);
});

test('countWeights counts every weight of a saved MLP (784·16 + 16 + 16·10 + 10)', () => {
  const net = Network.create({ spec: 'mlp:16', inputShape: [784], classes: 10, options: {} }, 1);
  assert.equal(countWeights(net.toOnnx()), 784 * 16 + 16 + 16 * 10 + 10);
  assert.equal(countWeights(net.toOnnx()), net.parameterCount);
  assert.throws(() => countWeights(new Uint8Array([1, 2, 3, 4])), /not an ONNX model/);
});

/** A small, consistent run report (3 classes, 9 test examples). */
export function sampleRunReport(): RunReport {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const student = testEval([0, 1, 0, 1, 1, 2, 0, 1, 2], labels, 3);
  const teacher = testEval([0, 0, 0, 1, 1, 2, 2, 1, 2], labels, 3);
  const entry = (description: string, file: string, weights: number, ms: [number, number]) => ({
    description,
    files: [file],
    weights,
    fileBytes: 4 * weights + 300,
    inference: [
      { batch: 1, msPerExample: ms[0], repeats: 50 },
      { batch: 256, msPerExample: ms[1], repeats: 9 },
    ],
  });
  return {
    format: 'dk-run-report',
    schemaVersion: 1,
    kind: 'distill',
    generator: 'dark-knowledge test',
    createdAt: '2026-01-02T03:04:05.000Z',
    model: 'runs/s.onnx',
    data: { source: 'toy', classes: 3, classNames: ['cat <b>', 'dog & co', '"bird"'], trainSize: 30, testSize: 9, heldOutSize: 5, transfer: 'all 30 training examples' },
    settings: [{ label: 'loss', value: 'α·T²·soft + (1 − α)·hard at T = 4' }],
    student: { ...entry('mlp:<16>', 's.onnx', 1000, [0.2, 0.004]), test: student },
    teacher: { ...entry('t.onnx', 't.onnx', 9000, [0.5, 0.02]), test: teacher },
    comparison: { onlyTeacherWrong: 0, onlyStudentWrong: 2, pValue: 0.5, agreement: 7 / 9, meanKL: 0.12, T: 4 },
    history: [
      { epoch: 1, loss: 3.2, trainAccuracy: 0.5, lr: 0.1, seconds: 0.1, testErrors: 5, heldOutErrors: 3 },
      { epoch: 2, loss: 2.9, trainAccuracy: 0.7, lr: 0.05, seconds: 0.1, testErrors: 3, heldOutErrors: 2 },
    ],
    seconds: 1.5,
  };
}

test('validateRunReport accepts a consistent report and names the first inconsistent field', () => {
  const r = sampleRunReport();
  validateRunReport(r);
  const bad = (edit: (x: RunReport) => void, field: RegExp) => {
    const x = structuredClone(r);
    edit(x);
    assert.throws(() => validateRunReport(x), (e: unknown) => e instanceof RunReportValidationError && field.test(e.message));
  };
  bad((x) => (x.student.test!.confusion[0][0] = 1), /\/student\/test\/confusion\/0 sums to 2/);
  bad((x) => (x.teacher!.test!.perClass[2].errors = 3), /\/teacher\/test\/perClass errors sum/);
  bad((x) => x.data.classNames.pop(), /\/data\/classNames has 2 names for 3 classes/);
  bad((x) => ((x as unknown as Record<string, unknown>).extra = 1), /\/extra is not a known field/);
  bad((x) => delete x.teacher, /\/comparison needs both/);
  bad((x) => (x.comparison!.agreement = 1.5), /\/comparison\/agreement/);
});

test('renderRunReport escapes every string from the report and has a container per chart', () => {
  const r = sampleRunReport();
  const html = renderRunReport(r);
  assert.ok(!html.includes('cat <b>') && html.includes('cat &lt;b&gt;'));
  assert.ok(html.includes('dog &amp; co') && html.includes('&quot;bird&quot;'));
  assert.ok(html.includes('mlp:&lt;16&gt;'));
  const ids = [...expectedRunChartPoints(r).keys()].sort();
  assert.deepEqual(ids, ['run-errors', 'run-loss', 'run-per-class', 'run-speed']);
  for (const id of ids) assert.ok(html.includes(`data-chart="${id}"`), id);
  // Per class: 3 classes × (teacher, student); errors: test + held-out + training rate × 2 epochs.
  assert.equal(expectedRunChartPoints(r).get('run-per-class'), 6);
  assert.equal(expectedRunChartPoints(r).get('run-errors'), 6);
  assert.equal(renderRunReport(r), html, 'deterministic');
  // Every table sits in a horizontally scrolling container.
  assert.equal((html.match(/<table/g) ?? []).length, (html.match(/<div class="table-wrap"><table/g) ?? []).length);
  assert.match(confusionTable(r.student.test!, r.data.classNames), /title="cat &lt;b&gt; predicted as dog &amp; co: 1 of 3"/);
});

test('a training run without teacher renders without the teacher parts', () => {
  const r = sampleRunReport();
  r.kind = 'train';
  delete r.teacher;
  delete r.comparison;
  validateRunReport(r);
  const html = renderRunReport(r);
  assert.ok(!html.includes('teacher ÷ student'));
  assert.ok(html.includes('Training report'));
});

test('writeRunReport writes both files, or neither when the page cannot be written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dk-run-report-'));
  const ok = writeRunReport({ html: join(dir, 'a.report.html'), json: join(dir, 'a.report.json') }, sampleRunReport());
  assert.deepEqual(JSON.parse(readFileSync(ok.json, 'utf8')), sampleRunReport());
  assert.ok(readFileSync(ok.html, 'utf8').startsWith('<!doctype html>'));
  // The page's path is a directory: the write fails and the JSON written before it is removed.
  mkdirSync(join(dir, 'b.report.html'));
  assert.throws(() => writeRunReport({ html: join(dir, 'b.report.html'), json: join(dir, 'b.report.json') }, sampleRunReport()));
  assert.equal(existsSync(join(dir, 'b.report.json')), false);
  // An invalid report writes nothing.
  const bad = sampleRunReport() as unknown as Record<string, unknown>;
  delete bad.history;
  assert.throws(() => writeRunReport({ html: join(dir, 'c.report.html'), json: join(dir, 'c.report.json') }, bad), /\/history is required/);
  assert.equal(existsSync(join(dir, 'c.report.json')), false);
});
