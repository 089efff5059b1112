/**
 * The teacher online: run on every batch as the student sees it (after jitter), so the soft
 * targets of an augmented example are the teacher's outputs on that augmented example — the
 * recipe image distillation uses (torchdistill, mdistiller), where cached targets would be the
 * teacher's view of the clean example. Each member is an onnxruntime session on the same batch,
 * with its own preprocessing; members combine as for cached targets (src/distill/teacher.ts
 * combineTeachers), with the output kinds decided on the whole transfer set. Without
 * augmentation the targets equal the cached ones.
 */
import type { OnlineTeacher } from '../train/batches.js';
import type { ProgressSink } from '../util/progress.js';
import { type RuntimeOptions, Runner } from '../runtime/session.js';
import { predictAll } from '../train/evaluate.js';
import type { Network } from '../train/network.js';
import { type TeacherSpec, cacheKey } from './cache.js';
import { type TeacherKind, logSoftmaxRows } from './targets.js';
import { OnnxTeacher, combineTeachers } from './teacher.js';

export class OnlineTeachers implements OnlineTeacher {
  private readonly y = new Int32Array(0);

  private constructor(
    private readonly members: OnnxTeacher[],
    private readonly kinds: readonly TeacherKind[],
    private readonly spec: TeacherSpec,
    private readonly shape: readonly number[],
    readonly classes: number,
    readonly identity: string,
  ) {}

  /** Load every teacher of `spec` for examples of `shape`; `kinds` as resolved on the transfer set. */
  static async load(spec: TeacherSpec, kinds: readonly TeacherKind[], shape: readonly number[], classes: number, opts: { runtime?: RuntimeOptions; progress?: ProgressSink } = {}): Promise<OnlineTeachers> {
    if (kinds.length !== spec.teachers.length) throw new RangeError(`OnlineTeachers: ${kinds.length} output kinds for ${spec.teachers.length} teachers`);
    const members: OnnxTeacher[] = [];
    try {
      for (const [i, src] of spec.teachers.entries()) {
        members.push(await OnnxTeacher.load(src, { shape: [...shape], classes }, { outputs: spec.outputs, prep: spec.prep?.[i], runtime: opts.runtime, progress: opts.progress }));
      }
    } catch (e) {
      for (const t of members) await t.release();
      throw e;
    }
    return new OnlineTeachers(members, kinds, spec, shape, classes, `online:${cacheKey(spec, 'online')}`);
  }

  async logits(x: Float32Array, m: number, out: Float32Array): Promise<void> {
    const batch = { x, y: this.y, n: m, shape: [...this.shape], classes: this.classes, source: 'batch' };
    const outs: { out: Float32Array; kind: TeacherKind }[] = [];
    for (const [i, t] of this.members.entries()) outs.push({ out: await t.outputs(batch), kind: this.kinds[i] });
    out.set(combineTeachers(outs, m, this.classes, this.spec.ensemble ?? 'mean'));
  }

  async release(): Promise<void> {
    for (const t of this.members) await t.release();
  }
}

/**
 * A teacher trained here (a Network in memory, as the paper job's) run online: its inference
 * graph in one onnxruntime session, each batch's logits turned into log-probabilities — the
 * same rows, computed the same way, as the cached soft targets `logSoftmaxRows(networkLogits(…))`.
 */
export class NetworkTeacher implements OnlineTeacher {
  private constructor(
    private readonly runner: Runner,
    private readonly inputShape: number[],
    readonly classes: number,
    readonly identity: string,
  ) {}

  /** `identity`: what names the teacher for checkpoints and caches (e.g. its weights' hash). */
  static async create(net: Network, identity: string, rt: RuntimeOptions = {}): Promise<NetworkTeacher> {
    return new NetworkTeacher(await Runner.create(net.inferenceGraph(), rt), net.spec.inputShape, net.spec.classes, identity);
  }

  async logits(x: Float32Array, m: number, out: Float32Array): Promise<void> {
    const { out: z } = await predictAll(this.runner, x, m, this.inputShape);
    logSoftmaxRows(z, m, this.classes, out);
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}
