/** §3's soft targets as a regulariser: hard and soft students on a small stratified fraction of the transfer set, early-stopped on the held-out split. */
import { stratifiedFraction, subset } from '../../data/subset.js';
import type { Dataset } from '../../data/dataset.js';
import type { Fraction3Arm, Results } from '../../report/schema.js';
import type { TrainConfig } from '../../train/trainer.js';
import { Rng } from '../../util/rng.js';
import type { PaperSession } from '../session.js';
import type { Teacher } from './teacher.js';

/** `arch`: the hard student's, which both arms share (awaited last: on a queue the arms need not wait for it). */
export function fractionExperiment(s: PaperSession, teacher: Teacher, arch: string | Promise<string>): Promise<NonNullable<Results['fraction3']>> {
  const P = s.P;
  const F = P.fraction;
  const { transfer } = s.data;
  return s.timed('3% of the data', async () => {
    const s0 = performance.now();
    const data = subset(transfer, stratifiedFraction(transfer, F.fraction, Rng.derive(P.seed, 'fraction')));
    const [hardArm, softArm] = await s.all([
      (f) => fractionArm(f, '3% hard', data, f.baseCfg(F.epochs), teacher),
      (f) => fractionArm(f, '3% soft', data, f.baseCfg(F.epochs, { loss: 'soft-ce' }), teacher),
    ]);
    return {
      fraction: F.fraction,
      trainExamples: data.n,
      arch: await arch,
      T: P.temperature,
      alpha: P.alpha,
      earlyStopping: 'both arms report the epoch with the best accuracy on the held-out split',
      hard: hardArm,
      soft: softArm,
      wallSeconds: (performance.now() - s0) / 1000,
    };
  });
}

/** One arm, reported at the epoch with the best held-out accuracy (ties: the earliest). */
async function fractionArm(s: PaperSession, label: string, data: Dataset, cfg: TrainConfig, teacher: Teacher): Promise<Fraction3Arm> {
  const { test, heldOut } = s.data;
  let best = -1;
  let bestEpoch = 0;
  const f = await s.fit(label, s.P.student.spec, data, cfg, { teacher: cfg.loss === 'hard' ? undefined : teacher.soft, evalSets: [heldOut] });
  const curve = f.history.map((h) => ({ epoch: h.epoch, trainAccuracy: h.trainAccuracy, testAccuracy: h.test!.accuracy, heldOutAccuracy: h.evals![0].accuracy }));
  curve.forEach((c) => {
    if (c.heldOutAccuracy > best) {
      best = c.heldOutAccuracy;
      bestEpoch = c.epoch;
    }
  });
  const at = curve[bestEpoch - 1];
  return { trainAccuracy: at.trainAccuracy, testAccuracy: at.testAccuracy, testErrors: Math.round((1 - at.testAccuracy) * test.n), epochs: cfg.epochs, stoppedEpoch: bestEpoch, curve };
}
