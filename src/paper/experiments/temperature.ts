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
    const students = [];
    for (const { spec, lr = P.lr } of W.students) {
      const units = Number(spec.slice(4).split(',')[0]);
      const hardRun = await s.fit(`${spec} hard`, spec, train, s.baseCfg(W.epochs, { lr }));
      const points = [];
      for (const t of W.temperatures) {
        const f = await s.fit(`${spec} T=${t}`, spec, train, s.baseCfg(W.epochs, { lr, loss: 'soft-ce', temperature: t }), { teacher: teacher.soft });
        points.push({ T: t, testErrors: f.test.errors });
      }
      students.push({ hiddenUnits: units, arch: archOf(hardRun.net), lr, hardTestErrors: hardRun.test.errors, points });
    }
    return { alpha: P.alpha, epochs: W.epochs, students, wallSeconds: (performance.now() - s0) / 1000 };
  });
}
