import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Kind } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { exampleResults } from '../../src/report/example.js';
import { paperReference } from '../../src/report/paper.js';
import { SCHEMA_VERSION, resultsJsonSchema, type Results } from '../../src/report/schema.js';
import { ResultsValidationError, validateResults } from '../../src/report/validate.js';

/** A deep copy of the example as plain JSON, to break freely. */
const fresh = (): Record<string, any> => JSON.parse(JSON.stringify(exampleResults()));

function rejects(value: unknown, field: string, problem?: RegExp): void {
  assert.throws(
    () => validateResults(value),
    (e: unknown) => {
      assert.ok(e instanceof ResultsValidationError, `expected ResultsValidationError, got ${String(e)}`);
      assert.equal(e.field, field);
      assert.ok(e.message.includes(field), `message names the field: ${e.message}`);
      if (problem) assert.match(e.message, problem);
      return true;
    },
  );
}

test('the example is schema-valid, labelled as an example, and survives a JSON round trip', () => {
  const r = exampleResults();
  validateResults(r);
  validateResults(JSON.parse(JSON.stringify(r)));
  assert.equal(r.config.profile, 'example');
  assert.equal(r.schemaVersion, SCHEMA_VERSION);
  assert.deepEqual(r.paper, paperReference());
});

test('the example is deterministic', () => {
  assert.deepEqual(exampleResults(), exampleResults());
});

test('the JSON Schema stands alone: a fresh ajv validates the example with it', () => {
  const validate = new Ajv({ strict: true }).compile(resultsJsonSchema);
  assert.equal(validate(fresh()), true, JSON.stringify(validate.errors));
  const r = fresh();
  delete r.omit3;
  assert.equal(validate(r), false);
});

test('a missing required field is named', () => {
  const r = fresh();
  delete r.teacher.testErrors;
  rejects(r, '/teacher/testErrors', /required/);
  const s = fresh();
  delete s.ensemble;
  rejects(s, '/ensemble', /required/);
});

test('a value of the wrong type or range is named', () => {
  const r = fresh();
  r.hard.testErrors = '139';
  rejects(r, '/hard/testErrors', /integer/);
  const s = fresh();
  s.fraction3.soft.testAccuracy = 1.5;
  rejects(s, '/fraction3/soft/testAccuracy');
  const t = fresh();
  t.darkKnowledge.examples[0].image[3][4] = 256;
  rejects(t, '/darkKnowledge/examples/0/image/3/4');
  const u = fresh();
  u.darkKnowledge.examples[1].image.pop();
  rejects(u, '/darkKnowledge/examples/1/image');
  const v = fresh();
  v.ensemble.members[4].epochs = 0;
  rejects(v, '/ensemble/members/4/epochs');
});

test('an unknown field is named (typos do not pass silently)', () => {
  const r = fresh();
  r.distilled.temperature = 20;
  rejects(r, '/distilled/temperature', /not a known field/);
});

test('config accepts extra keys; optional sections may be absent', () => {
  const r = fresh();
  r.config.jitterPx = 2;
  delete r.alphaSweep;
  delete r.specialists;
  delete r.significance;
  delete r.notes;
  delete r.only78.curve;
  delete r.ensemble.members[4].epochs;
  delete r.ensemble.members[4].recipe;
  validateResults(r);
});

test('createdAt is only informational: any value is accepted', () => {
  const r = fresh();
  r.createdAt = new Date().toISOString();
  validateResults(r);
});

test('cross-field rules: accuracy vs errors, class counts, matrix shape, sweep sizes', () => {
  const a = fresh();
  a.teacher.testAccuracy = 0.5;
  rejects(a, '/teacher/testAccuracy', /testErrors/);
  const b = fresh();
  b.darkKnowledge.examples[2].probs[1].p.push(0);
  rejects(b, '/darkKnowledge/examples/2/probs/1/p', /expected 10/);
  const c = fresh();
  c.darkKnowledge.similarity.matrix[4].pop();
  rejects(c, '/darkKnowledge/similarity/matrix/4');
  const d = fresh();
  d.omit3.after.threeErrors = 2000;
  rejects(d, '/omit3/after/threeErrors');
  const e = fresh();
  e.tempSweep.students[1].hiddenUnits = 30;
  rejects(e, '/tempSweep/students/1/hiddenUnits', /repeats/);
  const f = fresh();
  f.hard.testErrors = 10001;
  f.hard.testAccuracy = 0;
  rejects(f, '/hard/testErrors', /exceeds/);
});

test('significance: intervals contain their count, paired counts agree with the error counts', () => {
  const a = fresh();
  a.significance.intervals[0].lo = a.significance.intervals[0].testErrors + 1;
  rejects(a, '/significance/intervals/0', /does not contain testErrors/);
  const b = fresh();
  b.significance.intervals[1].hi = 10001;
  rejects(b, '/significance/intervals/1/hi', /exceeds the test set size 10000/);
  const c = fresh();
  c.significance.comparisons[0].onlyA += 1;
  rejects(c, '/significance/comparisons/0', /aErrors − bErrors = -59 but onlyA − onlyB = -58/);
  const d = fresh();
  d.significance.comparisons[2].pValue = 1.5;
  rejects(d, '/significance/comparisons/2/pValue');
  const e = fresh();
  e.significance.level = 95;
  rejects(e, '/significance/level');
});

test('non-objects are rejected at the root', () => {
  rejects(null, '', /object/);
  rejects([], '', /object/);
});

/** A file at the repository root, from dist/test/report/. */
const repoFile = (path: string): unknown => JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8'));

/**
 * The schema as plain JSON with every `required` list sorted (its order means nothing) and an
 * object's absent `required` written as [] (the same thing).
 */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'required' ? [...(v as string[])].sort() : normalise(v);
  if (out.type === 'object' && out.properties && !out.required) out.required = [];
  return out;
}

test('the generated JSON Schema equals the hand-written one it replaced (golden file)', () => {
  const golden = repoFile('test/report/fixtures/results.schema.v1.json');
  assert.deepStrictEqual(normalise(JSON.parse(JSON.stringify(resultsJsonSchema))), normalise(golden));
});

test('every node of the JSON Schema is built by TypeBox, so the TypeScript types are derived from it', () => {
  const unbuilt: string[] = [];
  const walk = (node: Record<string | symbol, any>, at: string): void => {
    if (typeof node[Kind] !== 'string') unbuilt.push(at || '/');
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v as Record<string, any>, `${at}/${k}`);
    if (node.items && typeof node.items === 'object') walk(node.items, `${at}/items`);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${at}/*`);
  };
  walk(resultsJsonSchema as Record<string | symbol, any>, '');
  assert.deepEqual(unbuilt, []);
});

test('the published full-profile results.json files are valid', () => {
  for (const path of ['docs/full-profile/results.json', 'docs/full-profile-seed2/results.json']) {
    const r = repoFile(path);
    validateResults(r);
    assert.equal((r as Results).config.profile, 'full', path);
  }
});

test('errors by class must have one entry per class and sum to the model’s test errors; results without them stay valid', () => {
  const ex = fresh();
  assert.equal(ex.distilled.testErrorsByClass.reduce((a: number, b: number) => a + b, 0), ex.distilled.testErrors);
  const a = fresh();
  a.hard.testErrorsByClass[0] += 1;
  rejects(a, '/hard/testErrorsByClass', /sums to \d+, but testErrors is \d+/);
  const b = fresh();
  b.teacher.testErrorsByClass.pop();
  rejects(b, '/teacher/testErrorsByClass', /has 9 entries, expected 10/);
  const c = fresh();
  for (const k of ['teacher', 'hard', 'distilled']) delete c[k].testErrorsByClass;
  validateResults(c);
});
