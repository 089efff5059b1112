/** §3's temperature sweep: for a small and a larger student, a hard-label run and one distilled run per temperature. */
import type { Results } from '../../report/schema.js';
import { type PaperSession, archOf } from '../session.js';
import type { Teacher } from './teacher.js';

export function temperatureExperiment(s: PaperSession, teacher: Teacher): Promise<NonNullable<Results['tempSweep']>> {
  const P = s.P;
  const W = P.tempSweep;
  const { train } = s.data;
  return s.timed('temperature sweep', async () => {
    const s0 = performance.now();
    // Per student: the hard-label run, then one distilled run per temperature.
    const runs = await s.all(
      W.students.flatMap(({ spec, lr = P.lr }) => [
        (f: PaperSession) => f.fit(`${spec} hard`, spec, train, f.baseCfg(W.epochs, { lr })),
        ...W.temperatures.map((t) => (f: PaperSession) => f.fit(`${spec} T=${t}`, spec, train, f.baseCfg(W.epochs, { lr, loss: 'soft-ce', temperature: t }), { teacher: teacher.soft })),
      ]),
    );
    const per = 1 + W.temperatures.length;
    const students = W.students.map(({ spec, lr = P.lr }, k) => {
      const [hardRun, ...soft] = runs.slice(k * per, (k + 1) * per);
      const points = W.temperatures.map((t, i) => ({ T: t, testErrors: soft[i].test.errors }));
      return { hiddenUnits: Number(spec.slice(4).split(',')[0]), arch: archOf(hardRun.net), lr, hardTestErrors: hardRun.test.errors, points };
    });
    return { alpha: P.alpha, epochs: W.epochs, students, wallSeconds: (performance.now() - s0) / 1000 };
  });
}
