/**
 * The run report's JSON (`<out>.report.json`, written by `dk train` and `dk distill`), version 1:
 * a TypeBox schema (plain JSON Schema, checked with ajv) with the TypeScript types derived from
 * it. Field-by-field documentation: src/report/SCHEMA.md, "Run reports".
 *
 * Conventions as in results.json: errors are counts of misclassified test examples, accuracies
 * and rates are fractions in [0, 1], times are seconds unless a name says ms, epochs count from 1.
 */
import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export const RUN_REPORT_FORMAT = 'dk-run-report';
export const RUN_REPORT_VERSION = 1;

const int = (minimum = 0) => Type.Integer({ minimum });
const nonneg = () => Type.Number({ minimum: 0 });
const pos = () => Type.Number({ exclusiveMinimum: 0 });
const frac = () => Type.Number({ minimum: 0, maximum: 1 });
const str = () => Type.String({ minLength: 1 });
const arr = <T extends TSchema>(items: T, minItems = 0) => Type.Array(items, { minItems });
const obj = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });
const opt = Type.Optional;

const TestEvalSchema = obj({
  errors: int(),
  total: int(1),
  /** Clopper–Pearson interval on the error count, in errors. */
  interval: obj({ lo: nonneg(), hi: nonneg(), level: frac() }),
  /** Per true class: how many test examples, how many wrong. */
  perClass: arr(obj({ total: int(), errors: int() }), 1),
  /** confusion[i][j]: test examples of true class i predicted as j. */
  confusion: arr(arr(int(), 1), 1),
});

const InferenceSchema = obj({
  /** Median wall time per example, ms, over repeated runs of one batch of this size. */
  batch: int(1),
  msPerExample: pos(),
  repeats: int(1),
});

const ModelEntrySchema = obj({
  /** What the model is: the student's spec, or the teacher file name(s). */
  description: str(),
  files: arr(str(), 1),
  /** Weights stored in the ONNX file(s): elements of float and 8/16-bit integer initializers. */
  weights: int(),
  /** Bytes on disk: the ONNX file(s) and their external data files. */
  fileBytes: int(),
  inference: arr(InferenceSchema),
  test: opt(TestEvalSchema),
});

const EpochSchema = obj({
  epoch: int(1),
  loss: Type.Number(),
  trainAccuracy: frac(),
  lr: nonneg(),
  seconds: nonneg(),
  testErrors: opt(int()),
  heldOutErrors: opt(int()),
});

export const runReportJsonSchema = obj({
  format: Type.Literal(RUN_REPORT_FORMAT),
  schemaVersion: Type.Literal(RUN_REPORT_VERSION),
  kind: Type.Union([Type.Literal('train'), Type.Literal('distill')]),
  generator: str(),
  /** ISO 8601 time the report was made. */
  createdAt: str(),
  /** The saved model, as given with --out. */
  model: str(),
  data: obj({
    source: str(),
    classes: int(2),
    classNames: arr(Type.String(), 2),
    /** Examples trained on (the transfer set for distillation). */
    trainSize: int(1),
    testSize: int(),
    heldOutSize: opt(int(1)),
    /** The transfer set as the run described it (distillation only). */
    transfer: opt(str()),
  }),
  /** The run's settings as label/value pairs for people (loss, T, α, optimiser, epochs, …). */
  settings: arr(obj({ label: str(), value: Type.String() })),
  student: ModelEntrySchema,
  teacher: opt(ModelEntrySchema),
  /** Student against teacher on the test set (distillation with a test split). */
  comparison: opt(
    obj({
      /** Exact McNemar test: examples only the teacher gets wrong, only the student, two-sided p. */
      onlyTeacherWrong: int(),
      onlyStudentWrong: int(),
      pValue: frac(),
      /** Fraction of test examples where the student's top class is the teacher's. */
      agreement: frac(),
      /** Mean over test examples of KL(teacher at T ‖ student at T), nats. */
      meanKL: nonneg(),
      T: pos(),
    }),
  ),
  history: arr(EpochSchema, 1),
  seconds: nonneg(),
});

export type RunReport = Static<typeof runReportJsonSchema>;
export type TestEval = Static<typeof TestEvalSchema>;
export type ModelEntry = Static<typeof ModelEntrySchema>;

/** A run report failed validation; `field` is a JSON pointer to the first offending value. */
export class RunReportValidationError extends TypeError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`run report: ${field || '/'} ${problem}`);
    this.name = 'RunReportValidationError';
    this.field = field;
  }
}

let compiled: ValidateFunction | undefined;

function describe(e: ErrorObject): RunReportValidationError {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return new RunReportValidationError(`${e.instancePath}/${String(p.missingProperty)}`, 'is required');
  if (e.keyword === 'additionalProperties') return new RunReportValidationError(`${e.instancePath}/${String(p.additionalProperty)}`, 'is not a known field');
  return new RunReportValidationError(e.instancePath, e.message ?? `fails ${e.keyword}`);
}

function checkTest(t: TestEval, at: string, classes: number): void {
  const fail = (f: string, why: string): never => {
    throw new RunReportValidationError(`${at}/${f}`, why);
  };
  if (t.errors > t.total) fail('errors', `exceeds total ${t.total}`);
  if (t.perClass.length !== classes) fail('perClass', `has ${t.perClass.length} entries for ${classes} classes`);
  if (t.confusion.length !== classes || t.confusion.some((row) => row.length !== classes)) fail('confusion', `must be ${classes} × ${classes}`);
  const sum = t.perClass.reduce((a, c) => a + c.total, 0);
  if (sum !== t.total) fail('perClass', `totals sum to ${sum}, not ${t.total}`);
  const wrong = t.perClass.reduce((a, c) => a + c.errors, 0);
  if (wrong !== t.errors) fail('perClass', `errors sum to ${wrong}, not ${t.errors}`);
  t.confusion.forEach((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    if (n !== t.perClass[i].total) fail(`confusion/${i}`, `sums to ${n}, but class ${i} has ${t.perClass[i].total} examples`);
    if (n - row[i] !== t.perClass[i].errors) fail(`confusion/${i}`, `has ${n - row[i]} off-diagonal, but class ${i} has ${t.perClass[i].errors} errors`);
  });
}

/** Check a run report against the schema and its cross-field rules; throws RunReportValidationError naming the first bad field. */
export function validateRunReport(value: unknown): asserts value is RunReport {
  compiled ??= new Ajv({ allErrors: false, strict: true }).compile(runReportJsonSchema);
  if (!compiled(value)) {
    const first = compiled.errors?.[0];
    throw first ? describe(first) : new RunReportValidationError('', 'is invalid');
  }
  const r = value as RunReport;
  const C = r.data.classes;
  if (r.data.classNames.length !== C) throw new RunReportValidationError('/data/classNames', `has ${r.data.classNames.length} names for ${C} classes`);
  if (r.student.test) checkTest(r.student.test, '/student/test', C);
  if (r.teacher?.test) checkTest(r.teacher.test, '/teacher/test', C);
  if (r.student.test && r.student.test.total !== r.data.testSize) throw new RunReportValidationError('/student/test/total', `is ${r.student.test.total}, but data.testSize is ${r.data.testSize}`);
  if (r.comparison && !(r.teacher?.test && r.student.test)) throw new RunReportValidationError('/comparison', 'needs both student.test and teacher.test');
}
