/**
 * The results.json schema (version 1), written once: each section is a TypeBox schema, which is a
 * plain JSON Schema (draft-07, checked with ajv) that any tool can use, and each exported type is
 * derived from it with `Static`, so the TypeScript types and the JSON Schema cannot drift apart.
 * Field-by-field documentation with units: src/report/SCHEMA.md.
 *
 * Conventions: test errors are counts of misclassified test examples (MNIST: out of 10000);
 * accuracies and error rates are fractions in [0, 1]; times are seconds; epochs count from 1.
 */
import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';

export const SCHEMA_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Building blocks. Every object is closed (additionalProperties: false) unless said otherwise;
// `opt(...)` marks a field optional, everything else is required.

const int = (minimum = 0) => Type.Integer({ minimum });
const anyInt = () => Type.Integer();
const num = () => Type.Number();
const nonneg = () => Type.Number({ minimum: 0 });
const pos = () => Type.Number({ exclusiveMinimum: 0 });
const frac = () => Type.Number({ minimum: 0, maximum: 1 });
const str = () => Type.String({ minLength: 1 });
const arr = <T extends TSchema>(items: T, minItems = 0, maxItems?: number) =>
  Type.Array(items, maxItems === undefined ? { minItems } : { minItems, maxItems });
const obj = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });
const opt = Type.Optional;

const errs = () => obj({ testErrors: int(), threeErrors: int() });
const errRate = () => obj({ testErrors: int(), errorRate: frac() });
const trainAcc = () => obj({ trainAccuracy: frac(), testAccuracy: frac() });

// ---------------------------------------------------------------------------------------------
// Sections.

/** One epoch of a training run, measured after the epoch. */
const EpochPointSchema = obj({
  epoch: int(1),
  testErrors: int(),
  /** Mean training loss over the epoch (the run's own objective). */
  trainLoss: num(),
});
export type EpochPoint = Static<typeof EpochPointSchema>;

const modelRunProps = {
  /** Layer sizes and unit type, e.g. "784-1200-1200-10 ReLU". */
  arch: str(),
  /** Regularisation and inputs, e.g. "dropout 0.2/0.5, max-norm 15, jitter ±2 px". */
  description: opt(str()),
  params: opt(int()),
  testErrors: int(),
  testAccuracy: frac(),
  epochs: int(1),
  /** Learning rate the reported run trained at (after any retry at a lower rate). */
  lr: opt(pos()),
  curve: arr(EpochPointSchema, 1),
  wallSeconds: nonneg(),
  /** Test errors by true class: index k counts the test images of class k it got wrong (sums to testErrors). */
  testErrorsByClass: opt(arr(int(), 2)),
};

/** One trained network: the teacher, the hard-label student or the distilled student. */
const ModelRunSchema = obj(modelRunProps);
export type ModelRun = Static<typeof ModelRunSchema>;

const DistilledRunSchema = obj({
  ...modelRunProps,
  /** Temperature of the soft targets. */
  T: pos(),
  /** Weight of the soft loss; 1 − alpha weighs the hard loss. */
  alpha: frac(),
});
export type DistilledRun = Static<typeof DistilledRunSchema>;

const OffsetChoiceSchema = obj({
  /** How the offset was chosen, in words (never on the test set). */
  method: str(),
  /** Number of held-out training examples used to choose it. */
  heldOutSize: int(1),
});
export type OffsetChoice = Static<typeof OffsetChoiceSchema>;

const Omit3PointSchema = obj({
  offset: num(),
  testErrors: int(),
  threeErrors: int(),
  /** Errors on the held-out split at this offset (what the choice looked at), if recorded. */
  heldOutErrors: opt(int()),
});
export type Omit3Point = Static<typeof Omit3PointSchema>;

const Omit3ResultSchema = obj({
  arch: str(),
  epochs: int(1),
  /** Learning rate the reported student trained at (after any retry at a lower rate). */
  lr: opt(pos()),
  T: pos(),
  /** Number of threes in the test set (MNIST: 1010). */
  threesInTest: int(1),
  before: errs(),
  after: errs(),
  /** Amount added to the bias of class 3 (logit units). */
  offset: num(),
  offsetChoice: OffsetChoiceSchema,
  /** Test-set errors against the offset, for display only. */
  curve: arr(Omit3PointSchema, 1),
  wallSeconds: nonneg(),
});
export type Omit3Result = Static<typeof Omit3ResultSchema>;

const Only78ResultSchema = obj({
  arch: str(),
  epochs: int(1),
  /** Learning rate the reported student trained at (after any retry at a lower rate). */
  lr: opt(pos()),
  T: pos(),
  before: errRate(),
  after: errRate(),
  /** Amount subtracted from the biases of classes 7 and 8 (logit units, positive). */
  offset: num(),
  offsetChoice: OffsetChoiceSchema,
  curve: opt(arr(obj({ offset: num(), testErrors: int() }), 1)),
  wallSeconds: nonneg(),
});
export type Only78Result = Static<typeof Only78ResultSchema>;

const Fraction3PointSchema = obj({
  epoch: int(1),
  trainAccuracy: frac(),
  testAccuracy: frac(),
  heldOutAccuracy: opt(frac()),
});
export type Fraction3Point = Static<typeof Fraction3PointSchema>;

const Fraction3ArmSchema = obj({
  trainAccuracy: frac(),
  testAccuracy: frac(),
  testErrors: int(),
  /** Epochs trained. */
  epochs: int(1),
  /** Epoch whose weights are reported (early stopping on held-out data, or the last). */
  stoppedEpoch: int(1),
  curve: arr(Fraction3PointSchema, 1),
});
export type Fraction3Arm = Static<typeof Fraction3ArmSchema>;

const Fraction3ResultSchema = obj({
  /** Fraction of the training set used, e.g. 0.03. */
  fraction: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  trainExamples: int(1),
  arch: str(),
  T: pos(),
  alpha: frac(),
  /** How the reported epoch was chosen, in words. */
  earlyStopping: str(),
  hard: Fraction3ArmSchema,
  soft: Fraction3ArmSchema,
  wallSeconds: nonneg(),
});
export type Fraction3Result = Static<typeof Fraction3ResultSchema>;

const TempSweepStudentSchema = obj({
  hiddenUnits: int(1),
  arch: str(),
  /** The learning rate of this size's runs (sizes may differ; a run retried at half of it is named in `notes`). */
  lr: opt(pos()),
  /** The same student trained on hard labels only, if measured. */
  hardTestErrors: opt(int()),
  points: arr(obj({ T: pos(), testErrors: int() }), 1),
});
export type TempSweepStudent = Static<typeof TempSweepStudentSchema>;

const TempSweepResultSchema = obj({
  alpha: frac(),
  epochs: int(1),
  students: arr(TempSweepStudentSchema, 1),
  wallSeconds: nonneg(),
});
export type TempSweepResult = Static<typeof TempSweepResultSchema>;

const EnsembleMemberSchema = obj({
  name: str(),
  arch: str(),
  seed: anyInt(),
  testErrors: int(),
  /** Epochs it trained for (absent in files from before this field). */
  epochs: opt(int(1)),
  /** How it was regularised, e.g. "dropout 0.1 input / 0.3 hidden, jitter ±1 px". */
  recipe: opt(str()),
});
export type EnsembleMember = Static<typeof EnsembleMemberSchema>;

const EnsembleResultSchema = obj({
  members: arr(EnsembleMemberSchema, 1),
  /** How members are combined, e.g. "arithmetic mean of probabilities". */
  combination: str(),
  ensembleTestErrors: int(),
  student: obj({ arch: str(), testErrors: int(), T: pos(), alpha: frac(), epochs: int(1) }),
  /** The single model the gain is measured from (paper Table 1: the baseline). */
  baseline: obj({ label: str(), testErrors: int() }),
  /** (baseline − student) / (baseline − ensemble). */
  gainKept: num(),
  wallSeconds: nonneg(),
});
export type EnsembleResult = Static<typeof EnsembleResultSchema>;

const AlphaSweepResultSchema = obj({
  T: pos(),
  epochs: int(1),
  points: arr(obj({ alpha: frac(), testErrors: int() }), 1),
  wallSeconds: nonneg(),
});
export type AlphaSweepResult = Static<typeof AlphaSweepResultSchema>;

/** How sure the test-set numbers are (optional: results.json files from before it stay valid). */
const SignificanceSchema = obj({
  /** Coverage of the intervals, e.g. 0.95. */
  level: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  intervalMethod: str(),
  /** An interval on each model's test error count, in errors. */
  intervals: arr(obj({ name: str(), testErrors: int(), lo: nonneg(), hi: nonneg() }), 1),
  testMethod: str(),
  /** Paired comparisons on the same test examples. */
  comparisons: arr(
    obj({
      a: str(),
      b: str(),
      aErrors: int(),
      bErrors: int(),
      /** Test examples A gets wrong and B gets right. */
      onlyA: int(),
      /** Test examples B gets wrong and A gets right. */
      onlyB: int(),
      /** Two-sided; small when the difference is unlikely if A and B were equally good. */
      pValue: frac(),
    }),
  ),
});
export type Significance = Static<typeof SignificanceSchema>;

const CoverageRowSchema = obj({
  /** Number of active specialists whose group contains the correct class. */
  covering: int(),
  examples: int(),
  /** Correct answers of the combination minus those of the generalist. */
  deltaCorrect: anyInt(),
  /** deltaCorrect / (generalist's correct answers in the row); fraction. */
  relativeChange: num(),
});
export type CoverageRow = Static<typeof CoverageRowSchema>;

const SpecialistsRunSchema = obj({
  /** Dataset name, e.g. "mnist" or a constructed harder task. */
  dataset: str(),
  description: opt(str()),
  generalistArch: str(),
  testSize: int(1),
  /** Groups of class indices, one per specialist. */
  groups: arr(arr(int(), 1), 1),
  classNames: opt(arr(str(), 1)),
  generalist: obj({ errors: int(), accuracy: frac() }),
  combined: obj({ errors: int(), accuracy: frac() }),
  coverage: arr(CoverageRowSchema, 1),
  /** Wall time of training the specialists with a given number of workers. */
  trainSeconds: opt(arr(obj({ workers: int(1), seconds: nonneg() }), 1)),
});
export type SpecialistsRun = Static<typeof SpecialistsRunSchema>;

const SpecialistsResultSchema = obj({ runs: arr(SpecialistsRunSchema, 1) });
export type SpecialistsResult = Static<typeof SpecialistsResultSchema>;

const DarkKnowledgeExampleSchema = obj({
  /** Index into the test set. */
  testIndex: int(),
  label: int(),
  /** 28 rows of 28 grey levels, integers 0–255 (0 = background). */
  image: arr(arr(Type.Integer({ minimum: 0, maximum: 255 }), 28, 28), 28, 28),
  /** The teacher's distribution at each temperature; p has one entry per class, sums to 1. */
  probs: arr(obj({ T: pos(), p: arr(frac(), 2) }), 1),
});
export type DarkKnowledgeExample = Static<typeof DarkKnowledgeExampleSchema>;

const DarkKnowledgeSchema = obj({
  classNames: arr(str(), 2),
  temperatures: arr(pos(), 1),
  examples: arr(DarkKnowledgeExampleSchema, 1),
  similarity: obj({
    T: pos(),
    /** C×C, row i = true class, column j = class; see definition. */
    matrix: arr(arr(nonneg(), 2), 2),
    definition: str(),
  }),
});
export type DarkKnowledge = Static<typeof DarkKnowledgeSchema>;

/** The paper's reference numbers (see paper.ts). */
const PaperReferenceSchema = obj({
  citation: str(),
  teacherTestErrors: int(),
  hardTestErrors: int(),
  distilledTestErrors: int(),
  omit3: obj({ before: errs(), after: errs(), offset: num() }),
  only78: obj({ errorRateBefore: frac(), errorRateAfter: frac(), offset: num() }),
  fraction3: obj({ note: str(), fullData: trainAcc(), hard: trainAcc(), soft: trainAcc() }),
  tempSweep: obj({
    note: str(),
    smallUnits: int(1),
    /** Exactly two temperatures (a range), as a pair in TypeScript and a two-item array in the JSON Schema. */
    smallBestT: Type.Unsafe<[number, number]>(arr(pos(), 2, 2)),
    largeUnits: int(1),
    largeMinT: pos(),
  }),
  ensemble: obj({
    note: str(),
    baselineAccuracy: frac(),
    ensembleAccuracy: frac(),
    distilledAccuracy: frac(),
    gainKept: num(),
  }),
  specialists: obj({
    note: str(),
    generalistAccuracy: frac(),
    combinedAccuracy: frac(),
    coverage: arr(obj({ covering: int(), relativeChange: num() }), 1),
  }),
});
export type PaperReference = Static<typeof PaperReferenceSchema>;

/** The run's settings; open to extra keys (profile-specific settings). */
const RunConfigSchema = Type.Object(
  {
    /** "quick", "full", or "example" for illustrative data that was not measured. */
    profile: str(),
    seed: anyInt(),
    dataset: str(),
    batchSize: int(1),
    lr: pos(),
    T: pos(),
    alpha: frac(),
    /** Epochs per experiment, keyed by experiment name. */
    epochs: Type.Unsafe<Record<string, number>>({ type: 'object', additionalProperties: int(0) }),
  },
  { additionalProperties: true },
);
export type RunConfig = Static<typeof RunConfigSchema> & { [key: string]: unknown };

const TimingsSchema = obj({ phases: arr(obj({ name: str(), seconds: nonneg() })), totalSeconds: nonneg() });
export type Timings = Static<typeof TimingsSchema>;

const MachineInfoSchema = obj({
  cpuModel: str(),
  cores: int(1),
  memoryBytes: int(0),
  node: str(),
  onnxruntime: str(),
  os: str(),
});
export type MachineInfo = Static<typeof MachineInfoSchema>;

/** The whole file, and the JSON Schema any tool can validate it with. */
export const resultsJsonSchema = Type.Object(
  {
    schemaVersion: Type.Unsafe<typeof SCHEMA_VERSION>(Type.Integer({ const: SCHEMA_VERSION })),
    /** ISO 8601 time the run finished; informational only. */
    createdAt: str(),
    generator: opt(str()),
    dataset: obj({ name: str(), trainSize: int(1), testSize: int(1) }),
    teacher: ModelRunSchema,
    hard: ModelRunSchema,
    distilled: DistilledRunSchema,
    /** When `distilled` learnt from the online teacher on jittered batches: the same student from the cached targets. */
    distilledCached: opt(DistilledRunSchema),
    omit3: Omit3ResultSchema,
    only78: Only78ResultSchema,
    fraction3: Fraction3ResultSchema,
    tempSweep: TempSweepResultSchema,
    ensemble: EnsembleResultSchema,
    alphaSweep: opt(AlphaSweepResultSchema),
    specialists: opt(SpecialistsResultSchema),
    significance: opt(SignificanceSchema),
    darkKnowledge: DarkKnowledgeSchema,
    paper: PaperReferenceSchema,
    config: Type.Unsafe<RunConfig>(RunConfigSchema),
    timings: TimingsSchema,
    machine: MachineInfoSchema,
    /** Findings in words: targets missed and why, caveats. */
    notes: opt(arr(Type.String())),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'dark-knowledge/results.schema.json',
    title: 'dark-knowledge results.json',
    additionalProperties: false,
  },
);
export type Results = Static<typeof resultsJsonSchema>;
