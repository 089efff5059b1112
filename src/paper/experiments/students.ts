/** §3's main comparison: the same small net on hard labels and distilled from the teacher, and the α sweep around it. */
import type { Results } from '../../report/schema.js';
import type { Fitted, PaperSession } from '../session.js';
import type { Teacher } from './teacher.js';
import { NetworkTeacher } from '../../distill/online.js';
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
  const hard = await s.timed('hard student', () => s.fit('hard', S.spec, train, s.baseCfg(S.epochs)));
  const cached = () => s.fit('distilled', S.spec, train, s.baseCfg(S.epochs, { loss: 'soft-ce' }), { teacher: teacher.soft });
  let distilled: Fitted;
  let distilledCached: Fitted | undefined;
  if (S.jitter) {
    const online = await NetworkTeacher.create(teacher.fitted.net, `paper teacher ${sha256Hex(teacher.fitted.net.toOnnx())}`, s.rt);
    try {
      distilled = await s.timed('distilled student', () =>
        s.fit('distilled online', S.spec, train, s.baseCfg(S.epochs, { loss: 'soft-ce', jitter: S.jitter }), { online }),
      );
    } finally {
      await online.release();
    }
    distilledCached = await s.timed('distilled student, cached targets', cached);
    s.log(`hard ${hard.test.errors}, distilled ${distilled.test.errors} (online teacher, ±${S.jitter} px), from cached targets ${distilledCached.test.errors} test errors (teacher ${teacher.fitted.test.errors})`);
  } else {
    distilled = await s.timed('distilled student', cached);
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

/** The distilled student at each α of the profile, reusing the runs above where they are the same configuration. */
export async function alphaSweepExperiment(s: PaperSession, teacher: Teacher, students: Students): Promise<AlphaSweep> {
  const P = s.P;
  const S = P.student;
  const wrong = new Map<number, Uint8Array>();
  if (!P.alphaSweep.length) return { alphaSweep: undefined, wrong };
  const alphaSweep = await s.timed('alpha sweep', async () => {
    const s0 = performance.now();
    const points: { alpha: number; testErrors: number }[] = [];
    for (const al of P.alphaSweep) {
      // α = 0 is the hard loss alone: the hard student's run, step for step. The sweep is of the
      // cached recipe: at the profile's α, the cached student (the headline one when it is cached).
      if (al === P.alpha) points.push({ alpha: al, testErrors: (students.distilledCached ?? students.distilled).test.errors });
      else if (al === 0) points.push({ alpha: al, testErrors: students.hard.test.errors });
      else {
        const f = await s.fit(`α=${al}`, S.spec, s.data.train, s.baseCfg(S.epochs, { loss: 'soft-ce', alpha: al }), { teacher: teacher.soft });
        points.push({ alpha: al, testErrors: f.test.errors });
        wrong.set(al, await s.testWrong(f.net));
      }
    }
    return { T: P.temperature, epochs: S.epochs, points, wallSeconds: (performance.now() - s0) / 1000 };
  });
  return { alphaSweep, wrong };
}
