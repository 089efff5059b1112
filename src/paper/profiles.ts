/**
 * The paper job's profiles: how long each experiment trains. 'quick' is what `npm start` runs
 * (≤ 10 minutes on a 2-core machine); 'full' aims at the paper's numbers within an hour.
 */
import type { EnsembleMode } from '../distill/teacher.js';
import type { SpecialistsExperiment } from './specialists.js';

export interface PaperProfile {
  name: 'quick' | 'full' | 'tiny';
  seed: number;
  batch: number;
  /** Students' learning rate (the teacher and the ensemble members use teacher.lr). */
  lr: number;
  temperature: number;
  alpha: number;
  /** Held-out training examples (never trained on by students) for bias and early-stopping choices. */
  holdout: number;
  teacher: { spec: string; epochs: number; dropout: number; inputDropout: number; maxNorm: number; jitter: number; lr: number };
  /**
   * The main student. With `jitter` (pixels) the distilled one learns from the teacher run online on
   * each jittered batch, and the same student is also distilled from the cached targets of the
   * clean images, reported beside it (results.json `distilledCached`); the α sweep uses the cached
   * recipe throughout. Without it, cached targets only.
   */
  student: { spec: string; epochs: number; jitter?: number };
  alphaSweep: number[];
  omit: { epochs: number };
  only78: { epochs: number };
  fraction: { fraction: number; epochs: number };
  /** Each student size with its own lr (default: the profile's `lr`), one run per temperature. */
  tempSweep: { students: { spec: string; lr?: number }[]; temperatures: number[]; epochs: number };
  ensemble: {
    members: { spec: string; seed: number; epochs: number; dropout: number; inputDropout: number; jitter: number }[];
    /** How the members' probabilities are combined into the student's targets (src/distill/teacher.ts). */
    combination: EnsembleMode;
    studentEpochs: number;
  };
  /** Specialists on a deliberately small generalist (src/paper/specialists.ts). */
  specialists: SpecialistsExperiment;
  /** Restrict the training set (tests only). */
  trainLimit?: number;
}

const base = { seed: 1, batch: 128, lr: 0.05, temperature: 20, alpha: 0.9, holdout: 5000 };

export const PROFILES: Record<PaperProfile['name'], PaperProfile> = {
  quick: {
    ...base,
    name: 'quick',
    // A lighter-regularised teacher than the paper's, so that 10 epochs already make it
    // clearly better than the student (distillation cannot beat a teacher that is worse).
    teacher: { spec: 'mlp:1200,1200', epochs: 10, dropout: 0.3, inputDropout: 0.1, maxNorm: 3.5, jitter: 1, lr: 0.1 },
    student: { spec: 'mlp:800,800', epochs: 4 },
    alphaSweep: [],
    omit: { epochs: 3 },
    only78: { epochs: 8 },
    fraction: { fraction: 0.03, epochs: 25 },
    tempSweep: { students: [{ spec: 'mlp:30,30' }, { spec: 'mlp:300,300' }], temperatures: [1, 2.5, 4, 8, 20], epochs: 2 },
    ensemble: {
      members: [
        { spec: 'mlp:800,800', seed: 11, epochs: 2, dropout: 0.3, inputDropout: 0.1, jitter: 1 },
        { spec: 'cnn:8,16:128', seed: 13, epochs: 1, dropout: 0, inputDropout: 0, jitter: 0 },
      ],
      // The full profile's combination, chosen there on held-out data (below).
      combination: 'geomean',
      studentEpochs: 4,
    },
    specialists: { generalist: 'mlp:30', generalistEpochs: 5, groupsPerRun: [3, 4, 5], runs: 2, epochs: 3, temperature: 2 },
  },
  full: {
    ...base,
    name: 'full',
    // Students' lr chosen on the 5000 held-out examples (students on the other 55k, 30 epochs, soft
    // targets from a teacher that never saw the held-out split): distilled 62 / 61 / 55 held-out
    // errors at lr 0.02 / 0.05 / 0.1, hard 84 / 78 at 0.05 / 0.1; at 0.2 the distilled student's
    // soft loss exploded during the warm-up (1.2e7 at step 312). α = 1 at lr 0.1: 62 (α stays 0.9).
    // lr 0.1 is near the edge for the skewed transfer sets: the only-7/8 student exploded at it in
    // one full run; a student whose loss explodes is retrained at half the rate (named in the notes).
    lr: 0.1,
    // The paper's architecture, regularised less than its dropout 0.5/0.2 and ±2 px: those need far
    // more than the hour's epochs. Chosen on 5000 held-out training examples (teacher on the other
    // 55k, seed 1). 15-epoch runs: 0.5/0.2 ±2 px 122 errors, 0.5/0.2 ±1 104, 0.3/0.1 ±2 76,
    // 0.4/0.1 ±1 76, 0.3/0.1 ±1 65, 0.2/0.1 ±1 62. 60-epoch runs (the hour's length): 0.3/0.1 ±2 51,
    // 0.3/0.1 ±1 47 (lr 0.2: 56), 0.2/0.1 ±1 44 — all flat over their last 15 epochs; less
    // dropout does not help further (0.1/0.1 47, 0.2/0 44), nor clearly do 90 epochs of 0.2/0.1
    // (42: within the ±5 or so that 5000 examples resolve, for 6 more minutes). As a teacher to
    // distil from, 0.3/0.1 is not better either: 60-epoch students (lr 0.1, α 0.9) from it made 57 and
    // 66 held-out errors at student seeds 1 and 2, against 55 and 59 from 0.2/0.1.
    teacher: { spec: 'mlp:1200,1200', epochs: 60, dropout: 0.2, inputDropout: 0.1, maxNorm: 3.5, jitter: 1, lr: 0.1 },
    // 60 epochs (was 30), chosen on the held-out split with the 0.2/0.1 teacher at lr 0.1: the
    // distilled student 62 / 55 / 59 held-out errors after 30 / 60 / 90 epochs, the hard one 78 / 80
    // after 30 / 60. α = 0.9 vs 0.5 at 60 epochs, student seeds 1–5: 55 / 59 / 56 / 61 / 57 vs
    // 53 / 53 / 56 / 54 / 49 (means 57.6 vs 53.0): 0.5 is better held out too, but α stays 0.9, the
    // paper's small weight on the hard loss, which the paper job reproduces (the α sweep shows 0.5).
    // The online teacher (the teacher run on each batch as the student sees it, jittered by up to
    // 1 px), chosen on the held-out split (student seed 1, lr 0.1, 60 epochs, the 0.2/0.1 teacher
    // trained on the other 55k, 44 held-out errors): 48 held-out errors against 55 from its cached
    // outputs on the clean images (48–49 over the online run's last 12 epochs, 55–56 for the cached
    // one; the cached recipe made 55 / 59 / 56 / 61 / 57 at seeds 1–5). The cached student is still
    // trained and reported beside it, and the α sweep stays with the cached recipe.
    student: { spec: 'mlp:800,800', epochs: 60, jitter: 1 },
    alphaSweep: [0, 0.5, 0.9, 1],
    omit: { epochs: 20 },
    only78: { epochs: 40 },
    fraction: { fraction: 0.03, epochs: 100 },
    // Each size's lr chosen on the held-out split (8 epochs on the other 55k, soft targets from the
    // 0.2/0.1 teacher trained on them): the lr with the fewest held-out errors summed over hard
    // labels and T = 1, 2.5, 4, 8, 20. 30 units: lr 0.02 / 0.05 / 0.1 → 1115 / 1048 / 1083 (at
    // 0.1, one run of the previous full profile reached 956 test errors at T = 20); 300 units:
    // lr 0.05 / 0.1 → 486 / 475.
    tempSweep: {
      students: [{ spec: 'mlp:30,30', lr: 0.05 }, { spec: 'mlp:300,300', lr: 0.1 }],
      temperatures: [1, 2, 2.5, 3, 4, 5, 8, 20],
      epochs: 8,
    },
    ensemble: {
      members: [
        // 30 epochs (was 10), chosen on the held-out split: each MLP member 84 → 60 held-out errors,
        // the ensemble (with the teacher and the CNN) 44 → 42, its student 64 → 56 (30 student
        // epochs; 56 at 60 too). What prompted the check: at 10 epochs the geometric mean was worse
        // on the test set (59) than its CNN member (56).
        { spec: 'mlp:800,800', seed: 11, epochs: 30, dropout: 0.3, inputDropout: 0.1, jitter: 1 },
        { spec: 'mlp:800,800', seed: 12, epochs: 30, dropout: 0.3, inputDropout: 0.1, jitter: 1 },
        { spec: 'cnn:16,32:256', seed: 13, epochs: 6, dropout: 0.5, inputDropout: 0, jitter: 1 },
      ],
      // Chosen on the held-out split with 10-epoch MLP members (members and teacher trained on the
      // other 55k; students at lr 0.1, 30 epochs): the arithmetic mean's student 82 held-out errors,
      // the geometric mean's 64 (the ensembles themselves 46 and 44).
      combination: 'geomean',
      studentEpochs: 60, // as the main students, so that the share of the gain compares like with like
    },
    specialists: { generalist: 'mlp:30', generalistEpochs: 15, groupsPerRun: [3, 4, 5], runs: 3, epochs: 10, temperature: 2 },
  },
  tiny: {
    ...base,
    name: 'tiny',
    holdout: 500,
    trainLimit: 3000,
    teacher: { spec: 'mlp:64,64', epochs: 2, dropout: 0.2, inputDropout: 0.1, maxNorm: 3.5, jitter: 1, lr: 0.1 },
    student: { spec: 'mlp:32', epochs: 1 },
    alphaSweep: [0, 1],
    omit: { epochs: 1 },
    only78: { epochs: 1 },
    fraction: { fraction: 0.1, epochs: 3 },
    tempSweep: { students: [{ spec: 'mlp:8' }], temperatures: [1, 4], epochs: 1 },
    ensemble: {
      members: [
        { spec: 'mlp:32', seed: 11, epochs: 1, dropout: 0, inputDropout: 0, jitter: 0 },
        { spec: 'cnn:4', seed: 12, epochs: 1, dropout: 0, inputDropout: 0, jitter: 0 },
      ],
      combination: 'mean',
      studentEpochs: 1,
    },
    specialists: { generalist: 'mlp:8', generalistEpochs: 1, groupsPerRun: [3], runs: 1, epochs: 1, temperature: 2 },
  },
};

/**
 * The profile run from another seed: `seed` replaces the profile's, and each ensemble member's
 * seed moves by the same amount, so members stay distinct from each other and from the teacher.
 */
export function withSeed(p: PaperProfile, seed: number): PaperProfile {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const shift = seed - p.seed;
  return { ...p, seed, ensemble: { ...p.ensemble, members: p.ensemble.members.map((m) => ({ ...m, seed: m.seed + shift })) } };
}
