/** results.json's `config`: the profile's settings as the job ran them, in words where the report shows words. */
import { cpus } from 'node:os';
import type { OptimConfig } from '../optim/optimizers.js';
import { AUTO_WARMUP } from '../optim/schedule.js';
import type { Results } from '../report/schema.js';
import type { TrainConfig } from '../train/trainer.js';
import type { PaperProfile } from './profiles.js';

const OPTIM_NAMES: Record<OptimConfig['kind'], string> = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW' };

/** An optimiser config in words, e.g. `SGD, momentum 0.9`: the settings that are on, in the report's vocabulary. */
export function describeOptim(o: OptimConfig): string {
  const parts = [OPTIM_NAMES[o.kind]];
  if (o.kind === 'sgd') {
    if (o.momentum > 0) parts.push(`${o.nesterov ? 'Nesterov ' : ''}momentum ${o.momentum}`);
  } else parts.push(`β1 ${o.beta1}, β2 ${o.beta2}, ε ${o.eps}`);
  if (o.weightDecay > 0) parts.push(`${o.kind === 'adamw' ? 'decoupled ' : ''}weight decay ${o.weightDecay}`);
  if (o.maxNorm > 0) parts.push(`max-norm ${o.maxNorm}`);
  return parts.join(', ');
}

/** `students`: the students' training config (its optimiser is the one described); `heldOut`, `threads`, `resumedRuns` as the job ran. */
export function paperConfig(P: PaperProfile, students: TrainConfig, run: { heldOut: number; threads?: number; resumedRuns: number }): Results['config'] {
  return {
    profile: P.name,
    seed: P.seed,
    dataset: 'mnist',
    batchSize: P.batch,
    lr: P.lr,
    T: P.temperature,
    alpha: P.alpha,
    epochs: { teacher: P.teacher.epochs, student: P.student.epochs, omit3: P.omit.epochs, only78: P.only78.epochs, fraction3: P.fraction.epochs, tempSweep: P.tempSweep.epochs, ensembleStudent: P.ensemble.studentEpochs },
    schedule: `cosine; students warm up linearly over the first ${100 * AUTO_WARMUP.fraction}% of their steps (at most ${AUTO_WARMUP.maxSteps})`,
    optimizer: describeOptim(students.optim),
    teacherLr: P.teacher.lr,
    holdout: run.heldOut,
    threads: run.threads ?? cpus().length,
    ...(run.resumedRuns ? { resumedRuns: run.resumedRuns } : {}),
  };
}
