/**
 * Divergence checks for the training loop: a non-finite or exploding step loss, and non-finite
 * weights (checked at epoch ends and before each checkpoint, so a checkpoint is never poisoned).
 * Each throws a DivergenceError (exit 3) saying where, the likely causes, and the last good
 * checkpoint when there is one.
 */
import type { TensorData } from '../graph/ir.js';
import { DivergenceError } from '../util/errors.js';
import type { TrainConfig } from './config.js';

/** A step's loss this many times the run's first (floored at 1) is an explosion, never a blip. */
export const DEFAULT_EXPLODE_FACTOR = 1e4;

/** The first non-finite value in a state map, or null (a cheap scan: plain loops over floats). */
export function firstNonFinite(state: ReadonlyMap<string, TensorData>): { name: string; index: number; value: number } | null {
  for (const [name, t] of state) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) return { name, index: i, value: v };
    }
  }
  return null;
}

/** A learning rate or loss as people read it: 0.05, 3.2, 4.1e+4 (no trailing zeros). */
function fmtLr(v: number): string {
  return String(Number(v.toPrecision(3)));
}
function fmtLoss(v: number): string {
  return Math.abs(v) >= 1e4 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

/** Where a step is, for messages (1-based epoch and step, global step counted after it). */
export interface StepPlace {
  epoch: number;
  step: number;
  globalStep: number;
}

export class DivergenceGuard {
  /** The run's first step loss (floored at 1): the explosion check's reference. */
  private firstLoss: number | undefined;
  /** Global step of the last state known to be finite (checked or checkpointed). */
  private lastGoodStep: number;
  private readonly explodeFactor: number;

  constructor(
    private readonly cfg: TrainConfig,
    explodeFactor: number | undefined,
    startStep: number,
    /** The last checkpoint written, named in messages as intact. */
    private readonly lastSaved: () => string | null,
  ) {
    this.explodeFactor = explodeFactor ?? DEFAULT_EXPLODE_FACTOR;
    if (!(Number.isFinite(this.explodeFactor) && this.explodeFactor >= 0)) throw new RangeError(`explodeFactor must be a finite number ≥ 0 (0: off), got ${explodeFactor}`);
    this.lastGoodStep = startStep;
  }

  private intact(): string {
    const p = this.lastSaved();
    return p ? `; the last good checkpoint ${p} is intact` : '';
  }

  /** Check one step's loss `l` (taken at learning rate `lr`). */
  loss(l: number, lr: number, at: StepPlace): void {
    const where = `at epoch ${at.epoch}, step ${at.step} (global step ${at.globalStep})`;
    if (!Number.isFinite(l)) {
      throw new DivergenceError(
        `loss became ${l} ${where}; likely causes: learning rate too high (${lr.toPrecision(3)}), or a temperature/alpha setting that makes the loss explode${this.intact()}`,
        `the training loss stopped being a number in epoch ${at.epoch} at learning rate ${fmtLr(lr)}`,
      );
    }
    this.firstLoss ??= Math.max(1, l);
    const f = this.explodeFactor;
    if (f > 0 && l > f * this.firstLoss) {
      const hard = this.cfg.loss === 'hard';
      throw new DivergenceError(
        `loss exploded to ${l.toPrecision(3)} ${where}, over ${f}× the run's first ${this.firstLoss.toPrecision(3)}; likely cause${hard ? '' : 's'}: learning rate too high (${lr.toPrecision(3)})${hard ? '' : ', or a confident teacher at a high temperature without a learning-rate warm-up'}${this.intact()}`,
        `the training loss blew up in epoch ${at.epoch} at learning rate ${fmtLr(lr)} (from ${fmtLoss(this.firstLoss)} at the start to ${fmtLoss(l)})`,
      );
    }
  }

  /** Check the weights after global step `globalStep` (`where` says when, for the message). */
  weights(state: ReadonlyMap<string, TensorData>, globalStep: number, where: string): void {
    const bad = firstNonFinite(state);
    if (bad) {
      throw new DivergenceError(
        `weight '${bad.name}'[${bad.index}] became ${bad.value} between global steps ${this.lastGoodStep} and ${globalStep} (${where})${this.intact()}; likely causes: learning rate too high (${this.cfg.lr}) or a temperature/alpha setting that makes the gradients explode`,
      );
    }
    this.lastGoodStep = globalStep;
  }

  /** Check the network's parameters once training is over. */
  params(params: ReadonlyMap<string, Float32Array>): void {
    for (const [k, v] of params) {
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) throw new DivergenceError(`weight '${k}' became non-finite; likely cause: learning rate too high`);
      }
    }
  }
}
