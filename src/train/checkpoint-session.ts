/**
 * One training's checkpoints: its file name and identity (config, data and teacher hashes,
 * initial state), the checkpoint it resumes from (loaded and checked before any session is
 * created) and when checkpoints fall due. (Where a resumed run stands: resumePoint in loop.ts.)
 */
import type { TensorData } from '../graph/ir.js';
import { type Dataset } from '../data/dataset.js';
import { datasetHash } from '../data/hash.js';
import { UsageError } from '../util/errors.js';
import type { BatchSampler, LoopRngs, TeacherTargets } from './batches.js';
import { type Checkpoint, type CheckpointProgress, type RunIdentity, checkpointName, diffKeys, listCheckpoints, loadForResume, saveCheckpoint, sha256Hex, stateHash } from './checkpoint.js';
import type { CheckpointConfig, TrainConfig } from './config.js';
import type { Network } from './network.js';

export class CheckpointSession {
  /** Checkpoint interval in steps (0: at epoch ends only). */
  readonly every: number;
  /** Path of the last checkpoint written by this run, if any. */
  lastSaved: string | null = null;

  constructor(
    private readonly c: CheckpointConfig,
    private readonly name: string,
    private readonly identity: RunIdentity,
    readonly resumed: Checkpoint | null,
  ) {
    this.every = c.every ?? resumed?.header.every ?? 0;
  }

  /** Whether a step-interval checkpoint falls due after one of the steps from+1 … from+k−1 (inside a group of k). */
  dueInside(from: number, k: number): boolean {
    return this.every > 0 && Math.floor((from + k - 1) / this.every) > Math.floor(from / this.every);
  }

  /** Whether a step-interval checkpoint falls due after global step `step`. */
  dueAfter(step: number): boolean {
    return this.every > 0 && step % this.every === 0;
  }

  save(p: CheckpointProgress, history: readonly unknown[], state: ReadonlyMap<string, TensorData>): void {
    this.lastSaved = saveCheckpoint(this.c.dir, this.name, { identity: this.identity, run: this.c.run, every: this.every, progress: p, history: [...history] }, state);
  }
}

/**
 * Name this training's checkpoint files, compute its identity and, when resuming, load and check
 * its checkpoint (the caller's run description must match the checkpointed one too).
 */
export function openCheckpoints(
  net: Network,
  data: Dataset,
  cfg: TrainConfig,
  /** The teacher's outputs, or (online teacher) a string that identifies it. */
  teacher: TeacherTargets | string | undefined,
  labeled: boolean,
  initial: ReadonlyMap<string, TensorData>,
  sampler: BatchSampler,
  customSampler: boolean,
  log: (text: string) => void,
): CheckpointSession {
  const c = cfg.checkpoint!;
  const { checkpoint: _omit, ...config } = cfg;
  const init = stateHash(initial);
  const identity: RunIdentity = {
    model: net.spec,
    config,
    data: { hash: datasetHash(data), n: data.n, shape: [...data.shape], classes: data.classes },
    teacher: typeof teacher === 'string' ? teacher : teacher ? sha256Hex(new Uint8Array(teacher.logits.buffer, teacher.logits.byteOffset, teacher.logits.byteLength)) : null,
    labeled,
    sampler: { stepsPerEpoch: sampler.stepsPerEpoch, rowsPerEpoch: sampler.rowsPerEpoch, custom: customSampler },
    init,
    state: [...initial].map(([k, v]) => `${k}[${v.dims.join(',')}]`),
  };
  // What tells apart the trainings of one command (teacher/student, one per specialist) — not
  // the settings a user might change by mistake, which are compared instead.
  const name = checkpointName(c.label ?? 'run', { model: net.spec, loss: cfg.loss, init, labeled });
  let resumed: Checkpoint | null = null;
  if (c.resume) {
    resumed = loadForResume(c.dir, name, identity, log);
    if (!resumed) {
      const others = listCheckpoints(c.dir).length;
      log(`no checkpoint of this training in ${c.dir}${others ? ` (${others} file(s) there belong to other trainings)` : ''}; starting it from the beginning`);
    } else {
      const r = resumed.header.run;
      if (c.run !== undefined && r !== undefined) {
        const diff = diffKeys(r, c.run);
        if (diff.length) throw new UsageError({ param: 'checkpoint.dir', value: c.dir, detail: `the run differs from the checkpointed one in ${diff.join(', ')}` });
      }
    }
  }
  return new CheckpointSession(c, name, identity, resumed);
}
