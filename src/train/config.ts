/**
 * Training configuration: its types, defaults and validation, kept free of the engine (no
 * onnxruntime, no graphs) so the CLI can show defaults and check flags before loading it.
 */
import { type OptimConfig, DEFAULT_OPTIM } from '../optim/optimizers.js';
import { type ScheduleConfig, validateSchedule } from '../optim/schedule.js';
import { type LossKind, validateLossKind } from '../nn/losses.js';

export type MixKind = 'convex' | 'alternate';

export interface TrainConfig {
  epochs: number;
  batch: number;
  lr: number;
  schedule: ScheduleConfig;
  optim: OptimConfig;
  /** Max random shift in pixels (0 = none); needs image-shaped data. */
  jitter: number;
  seed: number;
  loss: LossKind;
  temperature: number;
  alpha: number;
  mix: MixKind;
  /** Checkpoints and resume (absent: none). Not part of the run's identity. */
  checkpoint?: CheckpointConfig;
}

/**
 * Where and how often to checkpoint (see src/train/checkpoint.ts for the file format). A
 * checkpoint is written every `every` steps (0: none mid-epoch) and at the end of every epoch.
 */
export interface CheckpointConfig {
  dir: string;
  every?: number;
  /** Continue from this training's checkpoint in `dir`, if there is one. */
  resume?: boolean;
  /** File-name label (default 'run'); trainings that share a directory are told apart by a key hash anyway. */
  label?: string;
  /** The caller's description of the run (the CLI's effective flags), stored in every checkpoint. */
  run?: unknown;
}

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 10,
  batch: 128,
  lr: 0.05,
  schedule: { kind: 'cosine' },
  optim: DEFAULT_OPTIM,
  jitter: 0,
  seed: 1,
  loss: 'hard',
  temperature: 20,
  alpha: 0.9,
  mix: 'convex',
};

export function validateTrainConfig(c: TrainConfig): void {
  const pos = (k: keyof TrainConfig, v: number, int: boolean) => {
    if (!(Number.isFinite(v) && v > 0 && (!int || Number.isInteger(v)))) throw new RangeError(`${k} must be a ${int ? 'positive integer' : 'positive number'}, got ${v}`);
  };
  validateLossKind(c.loss);
  pos('epochs', c.epochs, true);
  pos('batch', c.batch, true);
  pos('lr', c.lr, false);
  pos('temperature', c.temperature, false);
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${c.alpha}`);
  if (!(Number.isInteger(c.jitter) && c.jitter >= 0)) throw new RangeError(`jitter must be a non-negative integer, got ${c.jitter}`);
  if (!['convex', 'alternate'].includes(c.mix)) throw new RangeError(`mix must be convex or alternate, got '${c.mix}'`);
  validateSchedule(c.schedule);
  if (c.checkpoint) {
    const k = c.checkpoint;
    if (typeof k.dir !== 'string' || k.dir === '') throw new RangeError(`checkpoint.dir must be a non-empty path, got ${JSON.stringify(k.dir)}`);
    if (k.every !== undefined && !(Number.isInteger(k.every) && k.every >= 0)) throw new RangeError(`checkpoint.every must be a non-negative integer, got ${k.every}`);
    if (k.label !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(k.label)) throw new RangeError(`checkpoint.label must be 1-64 letters, digits, '_' or '-', got '${k.label}'`);
  }
}

