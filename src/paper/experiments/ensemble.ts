/** §3's ensemble compression: the teacher and further members combined, and one student distilled from the ensemble. */
import { combineTeachers } from '../../distill/teacher.js';
import { DEFAULT_OPTIM } from '../../optim/optimizers.js';
import type { EnsembleMember, Results } from '../../report/schema.js';
import { argmaxRows, summarise } from '../../train/evaluate.js';
import { type Fitted, type PaperSession, archOf } from '../session.js';
import { type Teacher, recipe } from './teacher.js';

export interface Ensemble {
  ensemble: Results['ensemble'];
  /** Which test examples the ensemble and its student get wrong. */
  wrong: { ensemble: Uint8Array; student: Uint8Array };
}

/** `hard`: the hard student, the baseline the ensemble's student is measured against (awaited last: on a queue the runs need not wait for it). */
export async function ensembleExperiment(s: PaperSession, teacher: Teacher, hardRun: Fitted | Promise<Fitted>): Promise<Ensemble> {
  const P = s.P;
  const T = P.teacher;
  const { train, test, C } = s.data;
  let wrong: Ensemble['wrong'] | undefined;
  const ensemble = await s.timed('ensemble', async () => {
    const s0 = performance.now();
    const t = teacher.fitted;
    const members: EnsembleMember[] = [{ name: 'teacher', arch: archOf(t.net), seed: P.seed, testErrors: t.test.errors, epochs: t.history.length, recipe: recipe(T, T.maxNorm) }];
    const trained = await s.all(
      P.ensemble.members.map((m) => async (w: PaperSession) => {
        const f = await w.fit(`member ${m.spec} s${m.seed}`, m.spec, train, w.baseCfg(m.epochs, { seed: m.seed, jitter: m.jitter, lr: T.lr, optim: { ...DEFAULT_OPTIM, maxNorm: T.maxNorm } }), {
          options: { dropout: m.dropout, inputDropout: m.inputDropout },
          warmup: false,
        });
        return { f, train: await w.logits(f.net, train), test: await w.logits(f.net, test) };
      }),
    );
    for (const [i, m] of P.ensemble.members.entries()) {
      const f = trained[i].f;
      members.push({ name: `${m.spec} (seed ${m.seed})`, arch: archOf(f.net), seed: m.seed, testErrors: f.test.errors, epochs: f.history.length, recipe: recipe(m, T.maxNorm) });
    }
    const trainLogits = [teacher.trainLogits, ...trained.map((t) => t.train)];
    const testLogits = [teacher.testLogits, ...trained.map((t) => t.test)];
    const mode = P.ensemble.combination;
    const ensTest = combineTeachers(testLogits.map((out) => ({ out, kind: 'logits' as const })), test.n, C, mode);
    const ensErrors = summarise(argmaxRows(ensTest, test.n, C), test.y, C).errors;
    const ensTrain = combineTeachers(trainLogits.map((out) => ({ out, kind: 'logits' as const })), train.n, C, mode);
    const st = await s.fit('ensemble student', P.student.spec, train, s.baseCfg(P.ensemble.studentEpochs, { loss: 'soft-ce' }), { teacher: ensTrain });
    const hard = await hardRun;
    const baseErr = hard.test.errors;
    wrong = { ensemble: s.wrongOf(ensTest), student: await s.testWrong(st.net) };
    return {
      members,
      combination: mode === 'mean' ? 'arithmetic mean of probabilities' : 'geometric mean of probabilities (renormalised): the mean of log-probabilities',
      ensembleTestErrors: ensErrors,
      student: { arch: archOf(st.net), testErrors: st.test.errors, T: P.temperature, alpha: P.alpha, epochs: P.ensemble.studentEpochs },
      baseline: { label: `${archOf(hard.net)} trained on hard labels (${P.student.epochs} epochs)`, testErrors: baseErr },
      gainKept: baseErr === ensErrors ? 0 : (baseErr - st.test.errors) / (baseErr - ensErrors),
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });
  return { ensemble, wrong: wrong! };
}
