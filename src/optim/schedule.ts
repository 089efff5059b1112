/**
 * Learning-rate schedules, evaluated in TypeScript and fed to the step graph each step.
 *   constant:            lr
 *   cosine:              lr·½(1 + cos(π·t/T))            (Loshchilov & Hutter 2017, no restarts)
 *   step:                lr·γ^⌊epoch/k⌋
 *   exp:                 lr·γ^epoch (per epoch, Hinton et al. 2012's dropout nets used 0.998)
 * All with an optional linear warm-up over the first w steps.
 */
export type ScheduleKind = 'constant' | 'cosine' | 'step' | 'exp';

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** step: epochs between decays */
  stepEpochs?: number;
  /** step/exp: decay factor */
  gamma?: number;
  warmupSteps?: number;
}

export function validateSchedule(s: ScheduleConfig): void {
  if (!['constant', 'cosine', 'step', 'exp'].includes(s.kind)) {
    throw new RangeError(`schedule must be one of constant, cosine, step, exp; got '${s.kind}'`);
  }
  if (s.gamma !== undefined && !(s.gamma > 0 && s.gamma <= 1)) throw new RangeError(`schedule gamma must be in (0, 1], got ${s.gamma}`);
  if (s.stepEpochs !== undefined && !(Number.isInteger(s.stepEpochs) && s.stepEpochs > 0)) {
    throw new RangeError(`schedule step epochs must be a positive integer, got ${s.stepEpochs}`);
  }
}

/**
 * The warm-up distillation uses by default (`dk distill`, the paper job's students): the first 10%
 * of the steps, at most 400. At a high T the soft term's gradient is T·(softmax(s/T) − softmax(t/T)),
 * up to T times the hard term's while the student is near uniform; from a confident teacher, the
 * full lr from the first step blew the loss up to ~1e10 and left dead ReLUs.
 */
export const AUTO_WARMUP = { fraction: 0.1, maxSteps: 400 } as const;

/** AUTO_WARMUP's length for n examples in batches of `batch` over `epochs` epochs. */
export function autoWarmupSteps(n: number, batch: number, epochs: number): number {
  const steps = Math.ceil(n / Math.max(1, Math.min(batch, n))) * epochs;
  return Math.min(AUTO_WARMUP.maxSteps, Math.round(AUTO_WARMUP.fraction * steps));
}

/** Learning rate at global step t (0-based) of totalSteps, in epoch e (0-based, fractional ok). */
export function learningRate(base: number, s: ScheduleConfig, t: number, totalSteps: number, stepsPerEpoch: number): number {
  const epoch = Math.floor(t / Math.max(1, stepsPerEpoch));
  let lr = base;
  switch (s.kind) {
    case 'constant':
      break;
    case 'cosine':
      lr = base * 0.5 * (1 + Math.cos((Math.PI * t) / Math.max(1, totalSteps)));
      break;
    case 'step':
      lr = base * Math.pow(s.gamma ?? 0.1, Math.floor(epoch / (s.stepEpochs ?? 10)));
      break;
    case 'exp':
      lr = base * Math.pow(s.gamma ?? 0.95, epoch);
      break;
  }
  const w = s.warmupSteps ?? 0;
  if (w > 0 && t < w) lr *= (t + 1) / w;
  return lr;
}
