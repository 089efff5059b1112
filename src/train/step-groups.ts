/**
 * The step group runner: training steps run one per graph run, or K per run through the unrolled
 * step graph (src/train/unroll.ts; full batches only, no checkpoint inside a group). Two steppers
 * share one state, which moves to whichever runs next (a copy per switch). Only speed changes:
 * the weights are bitwise the same whatever the grouping.
 */
import type { TensorData } from '../graph/ir.js';
import { type RuntimeOptions, Runner, StepRunner } from '../runtime/session.js';
import type { PreparedStep } from './batches.js';
import type { StepGraph } from './step.js';
import { stepName, unrollStepGraph } from './unroll.js';

/** Steps per graph run by default: the weights cross into JavaScript once per 8 steps. */
export const DEFAULT_STEPS_PER_RUN = 8;

const scalar = { dtype: 'float32' as const, dims: [] as number[] };

export interface StepResult {
  loss: number;
  correct: number;
}

/** What the training loop drives: one step or a group of `k` per run, on a state it can read and set. */
export interface TrainSteps {
  /** Steps per group (1: one step a run). */
  readonly k: number;
  /** Graph runs so far. */
  readonly runs: number;
  readonly state: ReadonlyMap<string, TensorData>;
  setState(state: Map<string, TensorData>): void;
  run(steps: readonly PreparedStep[]): Promise<StepResult[]>;
  release(): Promise<void>;
}

export class StepGroups implements TrainSteps {
  /** Step-graph runs so far. */
  runs = 0;
  private stepper: StepRunner;
  private readonly fetch1 = { loss: scalar, correct: scalar };
  private readonly fetchK: Record<string, typeof scalar> = {};

  private constructor(
    private readonly single: StepRunner,
    private readonly grouped: StepRunner | null,
    /** Steps per group (1: no unrolled graph). */
    readonly k: number,
  ) {
    this.stepper = single;
    for (let j = 0; j < k; j++) for (const name of ['loss', 'correct']) this.fetchK[stepName(name, j)] = scalar;
  }

  /**
   * Sessions for `sg`, plus its K-step unrolled form when an epoch of `stepsPerEpoch` steps has
   * room for two groups (otherwise every step runs alone). Release them with release().
   */
  static async create(sg: StepGraph, stepsPerRun: number, stepsPerEpoch: number, runtime?: RuntimeOptions): Promise<StepGroups> {
    if (!Number.isInteger(stepsPerRun) || stepsPerRun < 1) throw new RangeError(`stepsPerRun must be an integer ≥ 1, got ${stepsPerRun}`);
    const k = stepsPerEpoch >= 2 * stepsPerRun ? stepsPerRun : 1;
    const runner = await Runner.create(sg.graph, runtime);
    try {
      let grouped: StepRunner | null = null;
      if (k > 1) {
        const unrolled = unrollStepGraph(sg, k);
        grouped = new StepRunner(await Runner.create(unrolled.graph, runtime), unrolled.bindings, sg.initialState);
      }
      return new StepGroups(new StepRunner(runner, sg.bindings, sg.initialState), grouped, k);
    } catch (e) {
      await runner.release();
      throw e;
    }
  }

  async release(): Promise<void> {
    await this.single.runner.release();
    if (this.grouped) await this.grouped.runner.release();
  }

  /** The live state (parameters, buffers, optimiser state). */
  get state(): ReadonlyMap<string, TensorData> {
    return this.stepper.state;
  }

  setState(state: Map<string, TensorData>): void {
    this.stepper.setState(state);
  }

  private use(next: StepRunner): StepRunner {
    if (next !== this.stepper) {
      next.setState(this.stepper.state as Map<string, TensorData>);
      this.stepper = next;
    }
    return next;
  }

  /** Run the prepared steps — one, or exactly k — as one graph run; each step's loss and correct count. */
  async run(steps: readonly PreparedStep[]): Promise<StepResult[]> {
    this.runs++;
    const read = (out: Record<string, TensorData>, name: string) => (out[name].data as Float32Array)[0];
    if (steps.length === 1) {
      const out = await this.use(this.single).step(steps[0].feeds, this.fetch1);
      return [{ loss: read(out, 'loss'), correct: read(out, 'correct') }];
    }
    if (steps.length !== this.k || !this.grouped) throw new RangeError(`a step group has 1 or ${this.k} steps, got ${steps.length}`);
    const feeds: Record<string, TensorData> = {};
    steps.forEach((p, j) => {
      for (const [name, v] of Object.entries(p.feeds)) feeds[stepName(name, j)] = v;
    });
    const out = await this.use(this.grouped).step(feeds, this.fetchK);
    return steps.map((_, j) => ({ loss: read(out, stepName('loss', j)), correct: read(out, stepName('correct', j)) }));
  }
}
