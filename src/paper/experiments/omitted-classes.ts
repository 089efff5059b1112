/**
 * §3's transfer sets with classes missing: digit 3 omitted, and only 7s and 8s kept. The student
 * learns the missing classes from the teacher's soft targets alone; a bias offset chosen on the
 * held-out split then corrects its prior on them.
 */
import { keepClasses, omitClasses, subset } from '../../data/subset.js';
import { pickBiasOffset } from '../../distill/bias.js';
import type { Results } from '../../report/schema.js';
import { errorsWithBias } from '../helpers.js';
import { type PaperSession, archOf } from '../session.js';
import type { Teacher } from './teacher.js';

/** The bias offsets tried: a 0.25 grid from 0 to 10. */
const OFFSETS = Array.from({ length: 41 }, (_, i) => i * 0.25);
const offsetChoice = (heldOutSize: number) => ({ method: 'the offset on a 0.25 grid from 0 to 10 with the fewest errors on the held-out split (ties: the smallest)', heldOutSize });

export function omit3Experiment(s: PaperSession, teacher: Teacher): Promise<NonNullable<Results['omit3']>> {
  const P = s.P;
  const { transfer, test, heldOut, C } = s.data;
  return s.timed('omitted 3', async () => {
    const s0 = performance.now();
    const data = subset(transfer, omitClasses(transfer, [3]));
    const f = await s.fit('omit-3', P.student.spec, data, s.baseCfg(P.omit.epochs, { loss: 'soft-ce' }), { teacher: teacher.soft });
    const zTest = await s.logits(f.net, test);
    const zHold = await s.logits(f.net, heldOut);
    const three = new Set([3]);
    const pick = pickBiasOffset(zHold, heldOut.y, [3], OFFSETS);
    const curve = OFFSETS.map((o, i) => {
      const t = errorsWithBias(zTest, test.y, C, new Map([[3, o]]), three);
      return { offset: o, testErrors: t.errors, threeErrors: t.focusErrors, heldOutErrors: pick.curve[i].errors };
    });
    const best = curve[OFFSETS.indexOf(pick.offset)];
    return {
      arch: archOf(f.net),
      epochs: P.omit.epochs,
      lr: f.lr,
      T: P.temperature,
      threesInTest: errorsWithBias(zTest, test.y, C, new Map(), three).focusCount,
      before: { testErrors: curve[0].testErrors, threeErrors: curve[0].threeErrors },
      after: { testErrors: best.testErrors, threeErrors: best.threeErrors },
      offset: best.offset,
      offsetChoice: offsetChoice(heldOut.n),
      curve,
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });
}

export function only78Experiment(s: PaperSession, teacher: Teacher): Promise<NonNullable<Results['only78']>> {
  const P = s.P;
  const { transfer, test, heldOut, C } = s.data;
  return s.timed('only 7 and 8', async () => {
    const s0 = performance.now();
    const data = subset(transfer, keepClasses(transfer, [7, 8]));
    const f = await s.fit('only-7-8', P.student.spec, data, s.baseCfg(P.only78.epochs, { loss: 'soft-ce' }), { teacher: teacher.soft });
    const zTest = await s.logits(f.net, test);
    const zHold = await s.logits(f.net, heldOut);
    const pick = pickBiasOffset(zHold, heldOut.y, [7, 8], OFFSETS.map((o) => -o));
    const curve = OFFSETS.map((o) => ({ offset: o, testErrors: errorsWithBias(zTest, test.y, C, new Map([[7, -o], [8, -o]])).errors }));
    const best = curve[OFFSETS.indexOf(-pick.offset)];
    return {
      arch: archOf(f.net),
      epochs: P.only78.epochs,
      lr: f.lr,
      T: P.temperature,
      before: { testErrors: curve[0].testErrors, errorRate: curve[0].testErrors / test.n },
      after: { testErrors: best.testErrors, errorRate: best.testErrors / test.n },
      offset: best.offset,
      offsetChoice: offsetChoice(heldOut.n),
      curve: curve.map((c) => ({ offset: c.offset, testErrors: c.testErrors })),
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });
}
