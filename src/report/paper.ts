import type { PaperReference } from './schema.js';

/**
 * The reference numbers of Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
 * Network" (arXiv 1503.02531). MNIST: section 3. The 3%-of-data, ensemble and specialist numbers
 * come from the paper's speech (Tables 1 and 5) and JFT (Tables 3 and 4) experiments: they are
 * shown beside our MNIST analogues as the shape to expect, not as numbers to match.
 * Table 4 is given only for the rows the project has checked (0, 1, 2 and 9 specialists).
 */
export function paperReference(): PaperReference {
  return {
    citation: 'Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network", arXiv:1503.02531',
    teacherTestErrors: 67,
    hardTestErrors: 146,
    distilledTestErrors: 74,
    omit3: {
      before: { testErrors: 206, threeErrors: 133 },
      after: { testErrors: 109, threeErrors: 14 },
      offset: 3.5,
    },
    only78: { errorRateBefore: 0.473, errorRateAfter: 0.132, offset: 7.6 },
    fraction3: {
      note: 'speech frame accuracy (Table 5), not MNIST',
      fullData: { trainAccuracy: 0.634, testAccuracy: 0.589 },
      hard: { trainAccuracy: 0.673, testAccuracy: 0.445 },
      soft: { trainAccuracy: 0.654, testAccuracy: 0.57 },
    },
    tempSweep: {
      note: 'MNIST, section 3: with 300+ units per layer all T above 8 gave similar results; with 30 units, T of 2.5–4 worked best',
      smallUnits: 30,
      smallBestT: [2.5, 4],
      largeUnits: 300,
      largeMinT: 8,
    },
    ensemble: {
      note: 'speech frame accuracy (Table 1): baseline, 10× ensemble, distilled single model',
      baselineAccuracy: 0.589,
      ensembleAccuracy: 0.611,
      distilledAccuracy: 0.608,
      gainKept: (0.608 - 0.589) / (0.611 - 0.589),
    },
    specialists: {
      note: 'JFT (Tables 3 and 4): 61 specialists; relative change of correct answers by number of specialists covering the correct class',
      generalistAccuracy: 0.25,
      combinedAccuracy: 0.261,
      coverage: [
        { covering: 0, relativeChange: 0 },
        { covering: 1, relativeChange: 0.034 },
        { covering: 2, relativeChange: 0.074 },
        { covering: 9, relativeChange: 0.166 },
      ],
    },
  };
}
