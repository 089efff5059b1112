import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { resultsJsonSchema, type Results } from './schema.js';

/** results.json failed validation; `field` is a JSON pointer to the first offending value. */
export class ResultsValidationError extends TypeError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`results: ${field || '/'} ${problem}`);
    this.name = 'ResultsValidationError';
    this.field = field;
  }
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false, strict: true });
    compiled = ajv.compile(resultsJsonSchema);
  }
  return compiled;
}

function describe(e: ErrorObject): ResultsValidationError {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return new ResultsValidationError(`${e.instancePath}/${String(p.missingProperty)}`, 'is required');
  if (e.keyword === 'additionalProperties')
    return new ResultsValidationError(`${e.instancePath}/${String(p.additionalProperty)}`, 'is not a known field');
  return new ResultsValidationError(e.instancePath, e.message ?? `fails ${e.keyword}`);
}

/**
 * Check `value` against the results.json schema, then the cross-field rules a JSON Schema cannot
 * express (accuracies agree with error counts, class counts agree). Throws ResultsValidationError
 * naming the first invalid field.
 */
export function validateResults(value: unknown): asserts value is Results {
  const v = validator();
  if (!v(value)) {
    const first = v.errors?.[0];
    throw first ? describe(first) : new ResultsValidationError('', 'is invalid');
  }
  checkConsistency(value as Results);
}

function fail(field: string, problem: string): never {
  throw new ResultsValidationError(field, problem);
}

function checkConsistency(r: Results): void {
  const n = r.dataset.testSize;
  for (const key of ['teacher', 'hard', 'distilled', 'distilledCached'] as const) {
    const m = r[key];
    if (!m) continue;
    if (m.testErrors > n) fail(`/${key}/testErrors`, `exceeds the test set size ${n}`);
    const acc = 1 - m.testErrors / n;
    if (Math.abs(m.testAccuracy - acc) > 1e-4)
      fail(`/${key}/testAccuracy`, `is ${m.testAccuracy} but testErrors ${m.testErrors} of ${n} give ${acc}`);
    m.curve.forEach((pt, i) => {
      if (pt.testErrors > n) fail(`/${key}/curve/${i}/testErrors`, `exceeds the test set size ${n}`);
    });
    const byClass = m.testErrorsByClass;
    if (byClass) {
      const classes = r.darkKnowledge.classNames.length;
      if (byClass.length !== classes) fail(`/${key}/testErrorsByClass`, `has ${byClass.length} entries, expected ${classes} (one per class)`);
      const sum = byClass.reduce((a, b) => a + b, 0);
      if (sum !== m.testErrors) fail(`/${key}/testErrorsByClass`, `sums to ${sum}, but testErrors is ${m.testErrors}`);
    }
  }
  const o = r.omit3;
  for (const when of ['before', 'after'] as const) {
    if (o[when].threeErrors > o.threesInTest) fail(`/omit3/${when}/threeErrors`, `exceeds threesInTest ${o.threesInTest}`);
    if (o[when].threeErrors > o[when].testErrors) fail(`/omit3/${when}/threeErrors`, 'exceeds testErrors');
  }
  const dk = r.darkKnowledge;
  const c = dk.classNames.length;
  dk.examples.forEach((ex, i) => {
    if (ex.label >= c) fail(`/darkKnowledge/examples/${i}/label`, `is not below the class count ${c}`);
    ex.probs.forEach((d, j) => {
      if (d.p.length !== c) fail(`/darkKnowledge/examples/${i}/probs/${j}/p`, `has ${d.p.length} entries, expected ${c}`);
    });
  });
  if (dk.similarity.matrix.length !== c) fail('/darkKnowledge/similarity/matrix', `has ${dk.similarity.matrix.length} rows, expected ${c}`);
  dk.similarity.matrix.forEach((row, i) => {
    if (row.length !== c) fail(`/darkKnowledge/similarity/matrix/${i}`, `has ${row.length} entries, expected ${c}`);
  });
  const units = new Set<number>();
  r.tempSweep.students.forEach((s, i) => {
    if (units.has(s.hiddenUnits)) fail(`/tempSweep/students/${i}/hiddenUnits`, `repeats ${s.hiddenUnits}; one entry per student size`);
    units.add(s.hiddenUnits);
  });
  const sig = r.significance;
  sig?.intervals.forEach((iv, i) => {
    if (iv.testErrors > n) fail(`/significance/intervals/${i}/testErrors`, `exceeds the test set size ${n}`);
    if (iv.hi > n) fail(`/significance/intervals/${i}/hi`, `exceeds the test set size ${n}`);
    if (!(iv.lo <= iv.testErrors && iv.testErrors <= iv.hi)) fail(`/significance/intervals/${i}`, `is [${iv.lo}, ${iv.hi}], which does not contain testErrors ${iv.testErrors}`);
  });
  sig?.comparisons.forEach((c, i) => {
    if (c.onlyA + c.onlyB > n) fail(`/significance/comparisons/${i}`, `has onlyA + onlyB = ${c.onlyA + c.onlyB} above the test set size ${n}`);
    if (c.aErrors - c.bErrors !== c.onlyA - c.onlyB)
      fail(`/significance/comparisons/${i}`, `has aErrors − bErrors = ${c.aErrors - c.bErrors} but onlyA − onlyB = ${c.onlyA - c.onlyB}; they count the same examples`);
  });
  r.specialists?.runs.forEach((run, i) => {
    if (run.generalist.errors > run.testSize) fail(`/specialists/runs/${i}/generalist/errors`, 'exceeds testSize');
    if (run.combined.errors > run.testSize) fail(`/specialists/runs/${i}/combined/errors`, 'exceeds testSize');
  });
}
