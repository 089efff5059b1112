import { Rng } from '../util/rng.js';
import { softmaxRows } from '../util/softmax.js';
import { errorInterval, mcnemarP } from '../util/stats.js';
import { paperReference } from './paper.js';
import { SCHEMA_VERSION, type EpochPoint, type Fraction3Point, type Results } from './schema.js';

/**
 * A complete, schema-valid results object for tests and documentation. Every number in it is
 * made up (plausible, deterministic) — `config.profile` is "example" and the report shows a
 * banner saying so. Never present these values as measured.
 */
/** A plausible split of `total` test errors over the ten digits (largest remainder; sums to total). */
function byClass(total: number): number[] {
  const w = [0.05, 0.05, 0.11, 0.12, 0.1, 0.11, 0.08, 0.12, 0.13, 0.13];
  const raw = w.map((x) => x * total);
  const out = raw.map(Math.floor);
  const order = raw.map((x, k) => ({ k, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.k - b.k);
  const short = total - out.reduce((a, b) => a + b, 0);
  for (let j = 0; j < short; j++) out[order[j].k]++;
  return out;
}

export function exampleResults(): Results {
  const rng = Rng.derive(7, 'report-example');
  const noise = (s: number): number => s * rng.normal();
  const curve = (epochs: number, start: number, end: number, tau: number, loss0: number, loss1: number): EpochPoint[] =>
    Array.from({ length: epochs }, (_, i) => {
      const t = i + 1;
      const decay = Math.exp(-(t - 1) / tau);
      const last = t === epochs;
      return {
        epoch: t,
        testErrors: last ? end : Math.max(end - 6, Math.round(end + (start - end) * decay + noise(3))),
        trainLoss: +(loss1 + (loss0 - loss1) * Math.exp(-(t - 1) / (tau * 0.8))).toFixed(4),
      };
    });
  const testSize = 10000;
  const acc = (errors: number): number => 1 - errors / testSize;

  const teacherErrors = 71;
  const hardErrors = 139;
  const distilledErrors = 80;

  const omitCurve = Array.from({ length: 17 }, (_, i) => {
    const offset = i * 0.5;
    const three = Math.round(9 + 160 / (1 + Math.exp(1.8 * (offset - 1.0))) + (i % 3) - 1);
    const other = Math.round(66 + 2.2 * Math.exp(0.42 * offset));
    return { offset, testErrors: three + other, threeErrors: three, heldOutErrors: Math.round((three + other) * 0.55) };
  });
  // As the pipeline must: the offset with the fewest held-out errors, never the test curve.
  const chosen = omitCurve.reduce((a, b) => (b.heldOutErrors < a.heldOutErrors ? b : a));

  const f3curve = (epochs: number, soft: boolean): Fraction3Point[] =>
    Array.from({ length: epochs }, (_, i) => {
      const t = i + 1;
      const train = soft ? 0.985 - 0.5 * Math.exp(-t / 3) : Math.min(1, 1.0 - 0.6 * Math.exp(-t / 2));
      const test = soft ? 0.962 - 0.45 * Math.exp(-t / 3) : 0.94 - 0.42 * Math.exp(-t / 2) - 0.0012 * Math.max(0, t - 8);
      return { epoch: t, trainAccuracy: +train.toFixed(4), testAccuracy: +test.toFixed(4), heldOutAccuracy: +(test - 0.004).toFixed(4) };
    });
  const hard3 = f3curve(30, false);
  const soft3 = f3curve(30, true);
  const hardStop = 8;

  const classNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const temperatures = [1, 2, 5, 20];
  const examples = EXAMPLE_DIGITS.map((d) => ({
    testIndex: d.testIndex,
    label: d.label,
    image: drawDigit(d.strokes),
    probs: temperatures.map((T) => ({ T, p: softmax(d.logits, T) })),
  }));

  const members = [
    { name: 'teacher A', arch: '784-1200-1200-10 ReLU', seed: 1, testErrors: 71 },
    { name: 'teacher B', arch: '784-1200-1200-10 ReLU', seed: 2, testErrors: 75 },
    { name: 'teacher C', arch: '784-1200-1200-10 ReLU', seed: 3, testErrors: 69 },
    { name: 'teacher D', arch: '784-1200-1200-10 ReLU', seed: 4, testErrors: 78 },
    { name: 'CNN <conv32-conv64-fc1024>', arch: 'conv5x5x32-pool-conv5x5x64-pool-1024-10', seed: 5, testErrors: 64, epochs: 6, recipe: 'dropout 0 input / 0.5 hidden, max-norm 3.5, jitter ±1 px' },
  ];
  const ensembleErrors = 55;
  const ensembleStudent = 76;

  return {
    schemaVersion: SCHEMA_VERSION,
    createdAt: '2025-01-01T00:00:00.000Z',
    generator: 'dark-knowledge exampleResults()',
    dataset: { name: 'mnist', trainSize: 60000, testSize },
    teacher: {
      arch: '784-1200-1200-10 ReLU',
      description: 'dropout 0.2 input / 0.5 hidden, max-norm 15, inputs jittered by up to 2 px',
      params: 2395210,
      testErrors: teacherErrors,
      testAccuracy: acc(teacherErrors),
      epochs: 40,
      curve: curve(40, 420, teacherErrors, 7, 0.9, 0.05),
      wallSeconds: 1090.5,
      testErrorsByClass: byClass(teacherErrors),
    },
    hard: {
      arch: '784-800-800-10 ReLU',
      description: 'no regularisation, hard labels',
      params: 1276810,
      testErrors: hardErrors,
      testAccuracy: acc(hardErrors),
      epochs: 30,
      curve: curve(30, 330, hardErrors, 4, 0.35, 0.0008),
      wallSeconds: 95.2,
      testErrorsByClass: byClass(hardErrors),
    },
    distilled: {
      arch: '784-800-800-10 ReLU',
      description: 'no regularisation, soft targets from the teacher',
      params: 1276810,
      testErrors: distilledErrors,
      testAccuracy: acc(distilledErrors),
      epochs: 30,
      curve: curve(30, 300, distilledErrors, 5, 1.1, 0.08),
      wallSeconds: 132.8,
      testErrorsByClass: byClass(distilledErrors),
      T: 20,
      alpha: 0.9,
    },
    omit3: {
      arch: '784-800-800-10 ReLU',
      epochs: 30,
      T: 20,
      threesInTest: 1010,
      before: { testErrors: omitCurve[0].testErrors, threeErrors: omitCurve[0].threeErrors },
      after: { testErrors: chosen.testErrors, threeErrors: chosen.threeErrors },
      offset: chosen.offset,
      offsetChoice: { method: 'offset minimising errors on a held-out split of the training set (threes included)', heldOutSize: 5000 },
      curve: omitCurve,
      wallSeconds: 118.1,
    },
    only78: {
      arch: '784-800-800-10 ReLU',
      epochs: 30,
      T: 20,
      before: { testErrors: 4590, errorRate: 0.459 },
      after: { testErrors: 1210, errorRate: 0.121 },
      offset: 7.5,
      offsetChoice: { method: 'offset minimising errors on a held-out split of the training set', heldOutSize: 5000 },
      curve: Array.from({ length: 21 }, (_, i) => ({
        offset: i * 0.5,
        testErrors: Math.round(1150 + 3440 / (1 + Math.exp(1.1 * (i * 0.5 - 5))) + 20 * Math.max(0, i * 0.5 - 7.5) ** 2),
      })),
      wallSeconds: 12.4,
    },
    fraction3: {
      fraction: 0.03,
      trainExamples: 1800,
      arch: '784-800-800-10 ReLU',
      T: 20,
      alpha: 0.9,
      earlyStopping: 'epoch with the best accuracy on a held-out split of the training set (not the test set)',
      hard: {
        trainAccuracy: hard3[hardStop - 1].trainAccuracy,
        testAccuracy: hard3[hardStop - 1].testAccuracy,
        testErrors: Math.round((1 - hard3[hardStop - 1].testAccuracy) * testSize),
        epochs: 30,
        stoppedEpoch: hardStop,
        curve: hard3,
      },
      soft: {
        trainAccuracy: soft3[29].trainAccuracy,
        testAccuracy: soft3[29].testAccuracy,
        testErrors: Math.round((1 - soft3[29].testAccuracy) * testSize),
        epochs: 30,
        stoppedEpoch: 30,
        curve: soft3,
      },
      wallSeconds: 41.7,
    },
    tempSweep: {
      alpha: 0.9,
      epochs: 20,
      students: [
        {
          hiddenUnits: 30,
          arch: '784-30-30-10 ReLU',
          hardTestErrors: 412,
          points: [1, 1.5, 2, 2.5, 3, 4, 5, 8, 12, 20].map((T, i) => ({
            T,
            testErrors: Math.round(330 + 55 * (Math.log(T) - Math.log(3.2)) ** 2 + [4, -3, 2, -1, 0, 3, -2, 1, 5, -4][i]),
          })),
        },
        {
          hiddenUnits: 300,
          arch: '784-300-300-10 ReLU',
          hardTestErrors: 171,
          points: [1, 1.5, 2, 2.5, 3, 4, 5, 8, 12, 20].map((T, i) => ({
            T,
            testErrors: Math.round(104 + 60 / T + [2, -1, 3, 0, -2, 1, 2, -1, 0, 1][i]),
          })),
        },
      ],
      wallSeconds: 388.0,
    },
    ensemble: {
      members,
      combination: 'arithmetic mean of the members\u2019 probabilities',
      ensembleTestErrors: ensembleErrors,
      student: { arch: '784-800-800-10 ReLU', testErrors: ensembleStudent, T: 20, alpha: 0.9, epochs: 30 },
      baseline: { label: 'the same student trained on hard labels', testErrors: hardErrors },
      gainKept: (hardErrors - ensembleStudent) / (hardErrors - ensembleErrors),
      wallSeconds: 2410.6,
    },
    alphaSweep: {
      T: 20,
      epochs: 20,
      points: [
        { alpha: 0, testErrors: 141 },
        { alpha: 0.5, testErrors: 96 },
        { alpha: 0.9, testErrors: 82 },
        { alpha: 1, testErrors: 85 },
      ],
      wallSeconds: 205.3,
    },
    significance: {
      level: 0.95,
      intervalMethod: 'Clopper–Pearson exact binomial interval on the error count',
      intervals: (
        [
          ['teacher', teacherErrors],
          ['hard student', hardErrors],
          ['distilled student', distilledErrors],
          ['ensemble', ensembleErrors],
          ['ensemble’s student', ensembleStudent],
        ] as [string, number][]
      ).map(([name, errors]) => ({ name, testErrors: errors, ...errorInterval(errors, testSize) })),
      testMethod: 'exact McNemar test, two-sided: a binomial test on the test examples exactly one of the two models gets wrong',
      // Illustrative discordant counts: onlyA − onlyB equals the difference in errors.
      comparisons: (
        [
          ['distilled student', distilledErrors, 'hard student', hardErrors, 31],
          ['teacher', teacherErrors, 'distilled student', distilledErrors, 24],
          ['ensemble’s student', ensembleStudent, 'hard student', hardErrors, 29],
          ['α = 0.5', 96, 'α = 0.9', distilledErrors, 38],
        ] as [string, number, string, number, number][]
      ).map(([a, aErrors, b, bErrors, onlyA]) => {
        const onlyB = onlyA - (aErrors - bErrors);
        return { a, b, aErrors, bErrors, onlyA, onlyB, pValue: mcnemarP(onlyA, onlyB) };
      }),
    },
    specialists: {
      runs: [
        {
          dataset: 'mnist',
          description: 'deliberately small generalist (784-30-10) so that it confuses classes',
          generalistArch: '784-30-10 ReLU',
          testSize,
          groups: [
            [4, 7, 9],
            [3, 5, 8],
            [2, 3, 7],
            [4, 9],
            [5, 6, 8],
          ],
          classNames,
          generalist: { errors: 520, accuracy: 0.948 },
          combined: { errors: 431, accuracy: 0.9569 },
          coverage: [
            { covering: 0, examples: 4210, deltaCorrect: 0, relativeChange: 0 },
            { covering: 1, examples: 3880, deltaCorrect: 41, relativeChange: 0.0109 },
            { covering: 2, examples: 1650, deltaCorrect: 37, relativeChange: 0.0234 },
            { covering: 3, examples: 260, deltaCorrect: 11, relativeChange: 0.0452 },
          ],
          trainSeconds: [
            { workers: 1, seconds: 96.4 },
            { workers: 2, seconds: 55.1 },
          ],
        },
      ],
    },
    darkKnowledge: {
      classNames,
      temperatures,
      examples,
      similarity: { T: 20, matrix: similarityMatrix(), definition: 'mean teacher probability of column class j at T over test images of row class i' },
    },
    paper: paperReference(),
    config: {
      profile: 'example',
      seed: 1,
      dataset: 'mnist',
      batchSize: 128,
      lr: 0.05,
      lrSchedule: 'cosine',
      momentum: 0.9,
      T: 20,
      alpha: 0.9,
      epochs: { teacher: 40, hard: 30, distilled: 30, omit3: 30, only78: 30, fraction3: 30, tempSweep: 20, ensemble: 30, alphaSweep: 20 },
    },
    timings: {
      phases: [
        { name: 'load data', seconds: 1.2 },
        { name: 'teacher', seconds: 1090.5 },
        { name: 'hard student', seconds: 95.2 },
        { name: 'distilled student', seconds: 132.8 },
        { name: 'omit 3', seconds: 118.1 },
        { name: 'only 7 & 8', seconds: 12.4 },
        { name: '3% of data', seconds: 41.7 },
        { name: 'temperature sweep', seconds: 388.0 },
        { name: 'ensemble', seconds: 2410.6 },
        { name: 'alpha sweep', seconds: 205.3 },
        { name: 'report', seconds: 0.4 },
      ],
      totalSeconds: 4496.2,
    },
    machine: {
      cpuModel: 'Example CPU @ 2.0GHz',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      node: 'v20.0.0',
      onnxruntime: '1.30.0',
      os: 'linux x64',
    },
    notes: [
      'These are example numbers for tests and documentation, not measurements.',
      'The speech and JFT results of the paper are shown beside their MNIST analogues for shape, not as targets.',
    ],
  };
}

/** softmax(z / T), T applied after the shift (the order these example numbers were made in). */
function softmax(z: number[], T: number): number[] {
  return Array.from(softmaxRows(z, 1, z.length, { temperature: T, order: 'shift-then-scale' }));
}

/** A plausible class-similarity matrix: each class mostly itself, with known MNIST confusions. */
function similarityMatrix(): number[][] {
  const pairs: [number, number, number][] = [
    [4, 9, 5.5], [3, 5, 5], [7, 9, 4.5], [3, 8, 4.5], [2, 7, 4], [1, 7, 4], [5, 6, 4], [0, 6, 3.5],
    [8, 9, 4], [5, 8, 4], [2, 3, 3.5], [2, 8, 3.5], [0, 2, 3], [1, 8, 3], [4, 6, 2.5], [0, 5, 3],
  ];
  const z: number[][] = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 9 : ((i * 7 + j * 3) % 5) * 0.3)));
  for (const [a, b, s] of pairs) {
    z[a][b] = s;
    z[b][a] = s - 0.4;
  }
  return z.map((row) => softmax(row, 1).map((v) => +v.toPrecision(4)));
}

interface DigitDef {
  testIndex: number;
  label: number;
  logits: number[];
  strokes: [number, number][][];
}

const EXAMPLE_DIGITS: DigitDef[] = [
  {
    testIndex: 1,
    label: 2,
    logits: [1.2, 3.1, 16, 6.3, -4, -1.5, 0.3, 8.4, 4.2, -3],
    strokes: [[[0.18, 0.3], [0.28, 0.1], [0.5, 0.03], [0.74, 0.1], [0.8, 0.3], [0.68, 0.5], [0.42, 0.72], [0.14, 0.95], [0.9, 0.93]]],
  },
  {
    testIndex: 18,
    label: 3,
    logits: [-2, -1, 4.1, 15, -5, 8.8, -3.2, 1.4, 7.1, 2.3],
    strokes: [
      [[0.16, 0.14], [0.42, 0.02], [0.72, 0.08], [0.8, 0.27], [0.64, 0.44], [0.38, 0.48]],
      [[0.6, 0.48], [0.82, 0.64], [0.8, 0.86], [0.52, 0.98], [0.16, 0.9]],
    ],
  },
  {
    testIndex: 0,
    label: 7,
    logits: [-1, 5.2, 6.1, 2.4, 1.1, -2.6, -6, 17, 0.4, 7.9],
    strokes: [[[0.12, 0.06], [0.86, 0.06], [0.62, 0.45], [0.44, 0.98]]],
  },
  {
    testIndex: 7,
    label: 9,
    logits: [0.3, -0.8, -3, 2.2, 9.6, 3.1, -4.4, 7.5, 5.8, 15.5],
    strokes: [
      [...Array.from({ length: 17 }, (_, k): [number, number] => {
        const a = (k / 16) * 2 * Math.PI;
        return [0.5 + 0.27 * Math.cos(a), 0.28 + 0.24 * Math.sin(a)];
      })],
      [[0.77, 0.28], [0.72, 0.62], [0.62, 0.98]],
    ],
  },
];

/** Rasterise polylines in a 20×20 box centred in 28×28, as MNIST centres its digits; 0–255 ints. */
function drawDigit(strokes: [number, number][][]): number[][] {
  const img: number[][] = Array.from({ length: 28 }, () => new Array<number>(28).fill(0));
  const segs: [number, number, number, number][] = [];
  for (const s of strokes) for (let i = 1; i < s.length; i++) segs.push([4 + 20 * s[i - 1][0], 4 + 20 * s[i - 1][1], 4 + 20 * s[i][0], 4 + 20 * s[i][1]]);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      let d = Infinity;
      for (const [x0, y0, x1, y1] of segs) {
        const dx = x1 - x0;
        const dy = y1 - y0;
        const t = Math.max(0, Math.min(1, ((x + 0.5 - x0) * dx + (y + 0.5 - y0) * dy) / (dx * dx + dy * dy || 1)));
        d = Math.min(d, Math.hypot(x + 0.5 - (x0 + t * dx), y + 0.5 - (y0 + t * dy)));
      }
      img[y][x] = Math.round(255 * Math.max(0, Math.min(1, 1.9 - d)));
    }
  }
  return img;
}
