/**
 * The results.json schema (version 1): TypeScript types for writers and readers, and the same
 * shape as a JSON Schema (draft-07, checked with ajv) so any tool can validate a file.
 * Field-by-field documentation with units: src/report/SCHEMA.md.
 *
 * Conventions: test errors are counts of misclassified test examples (MNIST: out of 10000);
 * accuracies and error rates are fractions in [0, 1]; times are seconds; epochs count from 1.
 */

export const SCHEMA_VERSION = 1;

/** One epoch of a training run, measured after the epoch. */
export interface EpochPoint {
  epoch: number;
  testErrors: number;
  /** Mean training loss over the epoch (the run's own objective). */
  trainLoss: number;
}

/** One trained network: the teacher, the hard-label student or the distilled student. */
export interface ModelRun {
  /** Layer sizes and unit type, e.g. "784-1200-1200-10 ReLU". */
  arch: string;
  /** Regularisation and inputs, e.g. "dropout 0.2/0.5, max-norm 15, jitter ±2 px". */
  description?: string;
  params?: number;
  testErrors: number;
  testAccuracy: number;
  epochs: number;
  /** Learning rate the reported run trained at (after any retry at a lower rate). */
  lr?: number;
  curve: EpochPoint[];
  wallSeconds: number;
}

export interface DistilledRun extends ModelRun {
  /** Temperature of the soft targets. */
  T: number;
  /** Weight of the soft loss; 1 − alpha weighs the hard loss. */
  alpha: number;
}

export interface OffsetChoice {
  /** How the offset was chosen, in words (never on the test set). */
  method: string;
  /** Number of held-out training examples used to choose it. */
  heldOutSize: number;
}

export interface Omit3Point {
  offset: number;
  testErrors: number;
  threeErrors: number;
  /** Errors on the held-out split at this offset (what the choice looked at), if recorded. */
  heldOutErrors?: number;
}

export interface Omit3Result {
  arch: string;
  epochs: number;
  /** Learning rate the reported student trained at (after any retry at a lower rate). */
  lr?: number;
  T: number;
  /** Number of threes in the test set (MNIST: 1010). */
  threesInTest: number;
  before: { testErrors: number; threeErrors: number };
  after: { testErrors: number; threeErrors: number };
  /** Amount added to the bias of class 3 (logit units). */
  offset: number;
  offsetChoice: OffsetChoice;
  /** Test-set errors against the offset, for display only. */
  curve: Omit3Point[];
  wallSeconds: number;
}

export interface Only78Result {
  arch: string;
  epochs: number;
  /** Learning rate the reported student trained at (after any retry at a lower rate). */
  lr?: number;
  T: number;
  before: { testErrors: number; errorRate: number };
  after: { testErrors: number; errorRate: number };
  /** Amount subtracted from the biases of classes 7 and 8 (logit units, positive). */
  offset: number;
  offsetChoice: OffsetChoice;
  curve?: { offset: number; testErrors: number }[];
  wallSeconds: number;
}

export interface Fraction3Point {
  epoch: number;
  trainAccuracy: number;
  testAccuracy: number;
  heldOutAccuracy?: number;
}

export interface Fraction3Arm {
  trainAccuracy: number;
  testAccuracy: number;
  testErrors: number;
  /** Epochs trained. */
  epochs: number;
  /** Epoch whose weights are reported (early stopping on held-out data, or the last). */
  stoppedEpoch: number;
  curve: Fraction3Point[];
}

export interface Fraction3Result {
  /** Fraction of the training set used, e.g. 0.03. */
  fraction: number;
  trainExamples: number;
  arch: string;
  T: number;
  alpha: number;
  /** How the reported epoch was chosen, in words. */
  earlyStopping: string;
  hard: Fraction3Arm;
  soft: Fraction3Arm;
  wallSeconds: number;
}

export interface TempSweepStudent {
  hiddenUnits: number;
  arch: string;
  /** The learning rate of this size's runs (sizes may differ; a run retried at half of it is named in `notes`). */
  lr?: number;
  /** The same student trained on hard labels only, if measured. */
  hardTestErrors?: number;
  points: { T: number; testErrors: number }[];
}

export interface TempSweepResult {
  alpha: number;
  epochs: number;
  students: TempSweepStudent[];
  wallSeconds: number;
}

export interface EnsembleMember {
  name: string;
  arch: string;
  seed: number;
  testErrors: number;
  /** Epochs it trained for (absent in files from before this field). */
  epochs?: number;
  /** How it was regularised, e.g. "dropout 0.1 input / 0.3 hidden, jitter ±1 px". */
  recipe?: string;
}

export interface EnsembleResult {
  members: EnsembleMember[];
  /** How members are combined, e.g. "arithmetic mean of probabilities". */
  combination: string;
  ensembleTestErrors: number;
  student: { arch: string; testErrors: number; T: number; alpha: number; epochs: number };
  /** The single model the gain is measured from (paper Table 1: the baseline). */
  baseline: { label: string; testErrors: number };
  /** (baseline − student) / (baseline − ensemble). */
  gainKept: number;
  wallSeconds: number;
}

export interface AlphaSweepResult {
  T: number;
  epochs: number;
  points: { alpha: number; testErrors: number }[];
  wallSeconds: number;
}

/** How sure the test-set numbers are (optional: results.json files from before it stay valid). */
export interface Significance {
  /** Coverage of the intervals, e.g. 0.95. */
  level: number;
  intervalMethod: string;
  /** An interval on each model's test error count, in errors. */
  intervals: { name: string; testErrors: number; lo: number; hi: number }[];
  testMethod: string;
  /** Paired comparisons on the same test examples. */
  comparisons: {
    a: string;
    b: string;
    aErrors: number;
    bErrors: number;
    /** Test examples A gets wrong and B gets right. */
    onlyA: number;
    /** Test examples B gets wrong and A gets right. */
    onlyB: number;
    /** Two-sided; small when the difference is unlikely if A and B were equally good. */
    pValue: number;
  }[];
}

export interface CoverageRow {
  /** Number of active specialists whose group contains the correct class. */
  covering: number;
  examples: number;
  /** Correct answers of the combination minus those of the generalist. */
  deltaCorrect: number;
  /** deltaCorrect / (generalist's correct answers in the row); fraction. */
  relativeChange: number;
}

export interface SpecialistsRun {
  /** Dataset name, e.g. "mnist" or a constructed harder task. */
  dataset: string;
  description?: string;
  generalistArch: string;
  testSize: number;
  /** Groups of class indices, one per specialist. */
  groups: number[][];
  classNames?: string[];
  generalist: { errors: number; accuracy: number };
  combined: { errors: number; accuracy: number };
  coverage: CoverageRow[];
  /** Wall time of training the specialists with a given number of workers. */
  trainSeconds?: { workers: number; seconds: number }[];
}

export interface SpecialistsResult {
  runs: SpecialistsRun[];
}

export interface DarkKnowledgeExample {
  /** Index into the test set. */
  testIndex: number;
  label: number;
  /** 28 rows of 28 grey levels, integers 0–255 (0 = background). */
  image: number[][];
  /** The teacher's distribution at each temperature; p has one entry per class, sums to 1. */
  probs: { T: number; p: number[] }[];
}

export interface DarkKnowledge {
  classNames: string[];
  temperatures: number[];
  examples: DarkKnowledgeExample[];
  similarity: {
    T: number;
    /** C×C, row i = true class, column j = class; see definition. */
    matrix: number[][];
    definition: string;
  };
}

/** The paper's reference numbers (see paper.ts). */
export interface PaperReference {
  citation: string;
  teacherTestErrors: number;
  hardTestErrors: number;
  distilledTestErrors: number;
  omit3: {
    before: { testErrors: number; threeErrors: number };
    after: { testErrors: number; threeErrors: number };
    offset: number;
  };
  only78: { errorRateBefore: number; errorRateAfter: number; offset: number };
  fraction3: {
    note: string;
    fullData: { trainAccuracy: number; testAccuracy: number };
    hard: { trainAccuracy: number; testAccuracy: number };
    soft: { trainAccuracy: number; testAccuracy: number };
  };
  tempSweep: { note: string; smallUnits: number; smallBestT: [number, number]; largeUnits: number; largeMinT: number };
  ensemble: {
    note: string;
    baselineAccuracy: number;
    ensembleAccuracy: number;
    distilledAccuracy: number;
    gainKept: number;
  };
  specialists: {
    note: string;
    generalistAccuracy: number;
    combinedAccuracy: number;
    coverage: { covering: number; relativeChange: number }[];
  };
}

export interface RunConfig {
  /** "quick", "full", or "example" for illustrative data that was not measured. */
  profile: string;
  seed: number;
  dataset: string;
  batchSize: number;
  lr: number;
  T: number;
  alpha: number;
  /** Epochs per experiment, keyed by experiment name. */
  epochs: Record<string, number>;
  [key: string]: unknown;
}

export interface Timings {
  phases: { name: string; seconds: number }[];
  totalSeconds: number;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  onnxruntime: string;
  os: string;
}

export interface Results {
  schemaVersion: typeof SCHEMA_VERSION;
  /** ISO 8601 time the run finished; informational only. */
  createdAt: string;
  generator?: string;
  dataset: { name: string; trainSize: number; testSize: number };
  teacher: ModelRun;
  hard: ModelRun;
  distilled: DistilledRun;
  omit3: Omit3Result;
  only78: Only78Result;
  fraction3: Fraction3Result;
  tempSweep: TempSweepResult;
  ensemble: EnsembleResult;
  alphaSweep?: AlphaSweepResult;
  specialists?: SpecialistsResult;
  significance?: Significance;
  darkKnowledge: DarkKnowledge;
  paper: PaperReference;
  config: RunConfig;
  timings: Timings;
  machine: MachineInfo;
  /** Findings in words: targets missed and why, caveats. */
  notes?: string[];
}

// ---------------------------------------------------------------------------------------------
// JSON Schema. `obj` takes properties whose key ends in '?' as optional.

type S = Record<string, unknown>;
const int = (minimum = 0): S => ({ type: 'integer', minimum });
const num: S = { type: 'number' };
const nonneg: S = { type: 'number', minimum: 0 };
const pos: S = { type: 'number', exclusiveMinimum: 0 };
const frac: S = { type: 'number', minimum: 0, maximum: 1 };
const str: S = { type: 'string', minLength: 1 };
const arr = (items: S, minItems = 0, maxItems?: number): S =>
  maxItems === undefined ? { type: 'array', items, minItems } : { type: 'array', items, minItems, maxItems };
function obj(props: Record<string, S>, additionalProperties: boolean | S = false): S {
  const properties: Record<string, S> = {};
  const required: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    const name = k.endsWith('?') ? k.slice(0, -1) : k;
    if (!k.endsWith('?')) required.push(name);
    properties[name] = v;
  }
  return { type: 'object', properties, required, additionalProperties };
}

const epochPoint = obj({ epoch: int(1), testErrors: int(), trainLoss: num });
const modelRunProps = {
  arch: str,
  'description?': str,
  'params?': int(),
  testErrors: int(),
  testAccuracy: frac,
  epochs: int(1),
  'lr?': pos,
  curve: arr(epochPoint, 1),
  wallSeconds: nonneg,
};
const offsetChoice = obj({ method: str, heldOutSize: int(1) });
const errs = obj({ testErrors: int(), threeErrors: int() });
const errRate = obj({ testErrors: int(), errorRate: frac });
const fraction3Arm = obj({
  trainAccuracy: frac,
  testAccuracy: frac,
  testErrors: int(),
  epochs: int(1),
  stoppedEpoch: int(1),
  curve: arr(obj({ epoch: int(1), trainAccuracy: frac, testAccuracy: frac, 'heldOutAccuracy?': frac }), 1),
});
const coverageRow = obj({ covering: int(), examples: int(), deltaCorrect: { type: 'integer' }, relativeChange: num });
const trainAcc = obj({ trainAccuracy: frac, testAccuracy: frac });

export const resultsJsonSchema: S = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'dark-knowledge/results.schema.json',
  title: 'dark-knowledge results.json',
  ...obj({
    schemaVersion: { type: 'integer', const: SCHEMA_VERSION },
    createdAt: str,
    'generator?': str,
    dataset: obj({ name: str, trainSize: int(1), testSize: int(1) }),
    teacher: obj(modelRunProps),
    hard: obj(modelRunProps),
    distilled: obj({ ...modelRunProps, T: pos, alpha: frac }),
    omit3: obj({
      arch: str,
      epochs: int(1),
      'lr?': pos,
      T: pos,
      threesInTest: int(1),
      before: errs,
      after: errs,
      offset: num,
      offsetChoice,
      curve: arr(obj({ offset: num, testErrors: int(), threeErrors: int(), 'heldOutErrors?': int() }), 1),
      wallSeconds: nonneg,
    }),
    only78: obj({
      arch: str,
      epochs: int(1),
      'lr?': pos,
      T: pos,
      before: errRate,
      after: errRate,
      offset: num,
      offsetChoice,
      'curve?': arr(obj({ offset: num, testErrors: int() }), 1),
      wallSeconds: nonneg,
    }),
    fraction3: obj({
      fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      trainExamples: int(1),
      arch: str,
      T: pos,
      alpha: frac,
      earlyStopping: str,
      hard: fraction3Arm,
      soft: fraction3Arm,
      wallSeconds: nonneg,
    }),
    tempSweep: obj({
      alpha: frac,
      epochs: int(1),
      students: arr(
        obj({ hiddenUnits: int(1), arch: str, 'lr?': pos, 'hardTestErrors?': int(), points: arr(obj({ T: pos, testErrors: int() }), 1) }),
        1,
      ),
      wallSeconds: nonneg,
    }),
    ensemble: obj({
      members: arr(obj({ name: str, arch: str, seed: { type: 'integer' }, testErrors: int(), 'epochs?': int(1), 'recipe?': str }), 1),
      combination: str,
      ensembleTestErrors: int(),
      student: obj({ arch: str, testErrors: int(), T: pos, alpha: frac, epochs: int(1) }),
      baseline: obj({ label: str, testErrors: int() }),
      gainKept: num,
      wallSeconds: nonneg,
    }),
    'alphaSweep?': obj({
      T: pos,
      epochs: int(1),
      points: arr(obj({ alpha: frac, testErrors: int() }), 1),
      wallSeconds: nonneg,
    }),
    'specialists?': obj({
      runs: arr(
        obj({
          dataset: str,
          'description?': str,
          generalistArch: str,
          testSize: int(1),
          groups: arr(arr(int(), 1), 1),
          'classNames?': arr(str, 1),
          generalist: obj({ errors: int(), accuracy: frac }),
          combined: obj({ errors: int(), accuracy: frac }),
          coverage: arr(coverageRow, 1),
          'trainSeconds?': arr(obj({ workers: int(1), seconds: nonneg }), 1),
        }),
        1,
      ),
    }),
    'significance?': obj({
      level: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      intervalMethod: str,
      intervals: arr(obj({ name: str, testErrors: int(), lo: nonneg, hi: nonneg }), 1),
      testMethod: str,
      comparisons: arr(obj({ a: str, b: str, aErrors: int(), bErrors: int(), onlyA: int(), onlyB: int(), pValue: frac })),
    }),
    darkKnowledge: obj({
      classNames: arr(str, 2),
      temperatures: arr(pos, 1),
      examples: arr(
        obj({
          testIndex: int(),
          label: int(),
          image: arr(arr({ type: 'integer', minimum: 0, maximum: 255 }, 28, 28), 28, 28),
          probs: arr(obj({ T: pos, p: arr(frac, 2) }), 1),
        }),
        1,
      ),
      similarity: obj({ T: pos, matrix: arr(arr(nonneg, 2), 2), definition: str }),
    }),
    paper: obj({
      citation: str,
      teacherTestErrors: int(),
      hardTestErrors: int(),
      distilledTestErrors: int(),
      omit3: obj({ before: errs, after: errs, offset: num }),
      only78: obj({ errorRateBefore: frac, errorRateAfter: frac, offset: num }),
      fraction3: obj({ note: str, fullData: trainAcc, hard: trainAcc, soft: trainAcc }),
      tempSweep: obj({ note: str, smallUnits: int(1), smallBestT: arr(pos, 2, 2), largeUnits: int(1), largeMinT: pos }),
      ensemble: obj({ note: str, baselineAccuracy: frac, ensembleAccuracy: frac, distilledAccuracy: frac, gainKept: num }),
      specialists: obj({
        note: str,
        generalistAccuracy: frac,
        combinedAccuracy: frac,
        coverage: arr(obj({ covering: int(), relativeChange: num }), 1),
      }),
    }),
    config: obj(
      {
        profile: str,
        seed: { type: 'integer' },
        dataset: str,
        batchSize: int(1),
        lr: pos,
        T: pos,
        alpha: frac,
        epochs: { type: 'object', additionalProperties: int(0) },
      },
      true,
    ),
    timings: obj({ phases: arr(obj({ name: str, seconds: nonneg })), totalSeconds: nonneg }),
    machine: obj({ cpuModel: str, cores: int(1), memoryBytes: int(0), node: str, onnxruntime: str, os: str }),
    'notes?': arr({ type: 'string' }),
  }),
};
