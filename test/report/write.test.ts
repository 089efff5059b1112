import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleResults } from '../../src/report/example.js';
import { ResultsValidationError } from '../../src/report/validate.js';
import { writeReport } from '../../src/report/write.js';

test('writeReport writes results.json and report.html, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dk-report-'));
  try {
    const out = join(dir, 'nested', 'run');
    const { resultsPath, reportPath } = writeReport(out, exampleResults());
    assert.deepEqual(JSON.parse(readFileSync(resultsPath, 'utf8')), exampleResults());
    assert.match(readFileSync(reportPath, 'utf8'), /^<!doctype html>/);
    assert.deepEqual(readdirSync(out).sort(), ['report.html', 'results.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport validates first: an invalid object names its field and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dk-report-'));
  try {
    const r = JSON.parse(JSON.stringify(exampleResults()));
    r.omit3.offset = 'high';
    assert.throws(() => writeReport(join(dir, 'x'), r), (e: unknown) => e instanceof ResultsValidationError && e.field === '/omit3/offset');
    assert.equal(existsSync(join(dir, 'x')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport refuses a bad directory argument', () => {
  assert.throws(() => writeReport('', exampleResults()), TypeError);
});
