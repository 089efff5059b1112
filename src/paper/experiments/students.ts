/** §3's main comparison: the same small net on hard labels and distilled from the teacher, and the α sweep around it. */
import type { Results } from '../../report/schema.js';
import type { Fitted, PaperSession } from '../session.js';
import type { Teacher } from './teacher.js';
import { sha256Hex } from '../../util/hash.js';

export interface Students {
  hard: Fitted;
  /** The headline distilled student: online teacher on jittered batches when the profile says so, else cached targets. */
  distilled: Fitted;
  /** With an online headline student: the same student from the cached targets of the clean images. */
  distilledCached?: Fitted;
  /** Which test examples the teacher and each student get wrong. */
  wrong: { teacher: Uint8Array; hard: Uint8Array; distilled: Uint8Array; distilledCached?: Uint8Array };
}

export async function studentsExperiment(s: PaperSession, teacher: Teacher): Promise<Students> {
  const S = s.P.student;
  const { train } = s.data;
  const cached = (f: PaperSession) => f.fit('distilled', S.spec, train, f.baseCfg(S.epochs, { loss: 'soft-ce' }), { teacher: teacher.soft });
  const online = S.jitter ? { net: teacher.fitted.net, identity: `paper teacher ${sha256Hex(teacher.fitted.net.toOnnx())}` } : undefined;
  const [hard, distilled, distilledCached] = await s.all<[Fitted, Fitted, Fitted | undefined]>([
    (f) => f.timed('hard student', () => f.fit('hard', S.spec, train, f.baseCfg(S.epochs))),
    (f) =>
      online
        ? f.timed('distilled student', () => f.fit('distilled online', S.spec, train, f.baseCfg(S.epochs, { loss: 'soft-ce', jitter: S.jitter }), { online }))
        : f.timed('distilled student', () => cached(f)),
    async (f) => (online ? f.timed('distilled student, cached targets', () => cached(f)) : undefined),
  ]);
  if (distilledCached) {
    s.log(`hard ${hard.test.errors}, distilled ${distilled.test.errors} (online teacher, ±${S.jitter} px), from cached targets ${distilledCached.test.errors} test errors (teacher ${teacher.fitted.test.errors})`);
  } else {
    s.log(`hard ${hard.test.errors}, distilled ${distilled.test.errors} test errors (teacher ${teacher.fitted.test.errors})`);
  }
  const wrong = {
    teacher: s.wrongOf(teacher.testLogits),
    hard: await s.testWrong(hard.net),
    distilled: await s.testWrong(distilled.net),
    ...(distilledCached ? { distilledCached: await s.testWrong(distilledCached.net) } : {}),
  };
  return { hard, distilled, distilledCached, wrong };
}

export interface AlphaSweep {
  alphaSweep: Results['alphaSweep'];
  /** Which test examples each newly trained α's student gets wrong, by α. */
  wrong: Map<number, Uint8Array>;
}

/**
 * The distilled student at each α of the profile, reusing the runs above where they are the same
 * configuration (`students`: awaited only for those, so that on a queue the new runs need not wait).
 */
export async function alphaSweepExperiment(s: PaperSession, teacher: Teacher, students: Students | Promise<Students>): Promise<AlphaSweep> {
  const P = s.P;
  const S = P.student;
  const wrong = new Map<number, Uint8Array>();
  if (!P.alphaSweep.length) return { alphaSweep: undefined, wrong };
  const alphaSweep = await s.timed('alpha sweep', async () => {
    const s0 = performance.now();
    // α = 0 is the hard loss alone: the hard student's run, step for step. The sweep is of the
    // cached recipe: at the profile's α, the cached student (the headline one when it is cached).
    const runs = await s.all(
      P.alphaSweep.map((al) => async (f: PaperSession): Promise<{ testErrors: number; wrong?: Uint8Array }> => {
        if (al === P.alpha) {
          const st = await students;
          return { testErrors: (st.distilledCached ?? st.distilled).test.errors };
        }
        if (al === 0) return { testErrors: (await students).hard.test.errors };
        const fitted = await f.fit(`α=${al}`, S.spec, f.data.train, f.baseCfg(S.epochs, { loss: 'soft-ce', alpha: al }), { teacher: teacher.soft });
        return { testErrors: fitted.test.errors, wrong: await f.testWrong(fitted.net) };
      }),
    );
    const points = P.alphaSweep.map((al, i) => ({ alpha: al, testErrors: runs[i].testErrors }));
    for (const [i, al] of P.alphaSweep.entries()) if (runs[i].wrong) wrong.set(al, runs[i].wrong);
    return { T: P.temperature, epochs: S.epochs, points, wallSeconds: (performance.now() - s0) / 1000 };
  });
  return { alphaSweep, wrong };
}
