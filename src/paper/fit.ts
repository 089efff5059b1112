/**
 * One training run of the paper job, wherever it runs: in the job's own thread
 * (PaperSession.fit) or on a `dk worker` as a 'paper-fit' job (src/queue/fit-jobs.ts). Both call
 * `trainFit`, so a run on the queue is the local run: the same network, config, data, teacher
 * and thread count give bitwise the same weights, the same history and the same retry note.
 */
import type { Dataset } from '../data/dataset.js';
import { NetworkTeacher } from '../distill/online.js';
import { type ModelOptions, modelInputShape } from '../nn/spec.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { alternating } from '../runtime/core.js';
import { Network } from '../train/network.js';
import { trainingProgress } from '../train/progress.js';
import { type EpochEvent, type TrainConfig, trainNetwork } from '../train/trainer.js';
import type { ProgressSink } from '../util/progress.js';
import { halveLrOnDivergence } from './helpers.js';

/** Everything a training run of the paper job depends on. */
export interface FitRun {
  /** Names the run in the log, the notes and the resume cache. */
  label: string;
  spec: string;
  classes: number;
  options: ModelOptions;
  /** The training config as trained (the students' warm-up already in it). */
  cfg: TrainConfig;
  data: Dataset;
  test: Dataset;
  evalSets?: Dataset[];
  /** Teacher log-probabilities by example id (distillation from cached targets). */
  teacher?: Float32Array;
  /** Or the teacher run on every batch as the student sees it: its network and what names it. */
  online?: { net: Network; identity: string };
  runtime: RuntimeOptions;
}

export interface FitOutcome {
  net: Network;
  /** The lr it trained at: the planned one, or half of it after a divergence. */
  lr: number;
  history: EpochEvent[];
  /** Training time. */
  seconds: number;
  /** What went differently from the plan (a retry at half the lr), for the report's notes. */
  notes: string[];
}

/** Train the run; a divergence is retried once from scratch at half the lr, and noted. */
export async function trainFit(r: FitRun, progress: ProgressSink): Promise<FitOutcome> {
  const notes: string[] = [];
  const online = r.online ? await NetworkTeacher.create(r.online.net, r.online.identity, alternating(r.runtime)) : undefined;
  try {
    const trained = await halveLrOnDivergence(
      r.cfg.lr,
      async (lr) => {
        const net = Network.create({ spec: r.spec, inputShape: modelInputShape(r.spec, r.data.shape), classes: r.classes, options: r.options }, r.cfg.seed);
        const res = await trainNetwork(net, r.data, { ...r.cfg, lr }, {
          test: r.test,
          evalSets: r.evalSets,
          teacher: r.teacher ? { logits: r.teacher, classes: r.classes } : undefined,
          onlineTeacher: online,
          runtime: r.runtime,
          onEvent: trainingProgress(progress, r.label, r.cfg.epochs),
        });
        return { net, res, lr };
      },
      (e, lr) => {
        const text = `${r.label}: ${e.plain}; trained again from scratch at half that rate (${lr})`;
        progress({ kind: 'log', text });
        notes.push(text);
      },
    );
    return { net: trained.net, lr: trained.lr, history: trained.res.history, seconds: trained.res.seconds, notes };
  } finally {
    await online?.release();
  }
}

/** A run as it crosses into a worker thread (plain data): the online teacher as .onnx bytes, the thread count. */
export interface FitJobArgs extends Omit<FitRun, 'online' | 'runtime'> {
  online?: { onnx: Uint8Array; identity: string };
  threads: number;
}

export interface FitJobResult {
  /** The trained network. */
  onnx: Uint8Array;
  lr: number;
  history: EpochEvent[];
  seconds: number;
  notes: string[];
}

/** The thread job of a 'paper-fit' queue job (registry ./jobs.ts): trainFit on plain data. */
export async function fitJob(a: FitJobArgs, progress: ProgressSink): Promise<FitJobResult> {
  const { online: teacher, threads, ...run } = a;
  const online = teacher ? { net: Network.fromOnnx(teacher.onnx, 'the online teacher'), identity: teacher.identity } : undefined;
  const r = await trainFit({ ...run, online, runtime: { threads } }, progress);
  return { onnx: r.net.toOnnx(), lr: r.lr, history: r.history, seconds: r.seconds, notes: r.notes };
}

export const FIT_JOB_REGISTRY = new URL('./jobs.js', import.meta.url);
