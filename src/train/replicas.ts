/**
 * Data-parallel training steps on one machine (Node only): each step's batch is cut into R
 * shards of rows, R onnxruntime sessions (the first on the calling thread, the others in worker
 * threads, each with its own intra-op threads) run the gradient graph (forward, loss, backward;
 * train/step.ts buildGradGraph) on their shards at once, and the calling thread's update graph
 * sums the shards' gradients weighted by their share of the batch and applies the optimiser. The sum of the shards' mean-loss gradients,
 * each times rows/N, is the whole batch's mean-loss gradient, so the step is the one-graph step up
 * to float rounding (the sums run in another order: tested to 1e-5 relative).
 *
 * Why: onnxruntime's CPU kernels for a conv step's many small operators (Slice, Transpose, Pad,
 * element-wise passes) scale poorly across intra-op threads; two single-thread sessions on half
 * batches each keep one core busy (bench/README.md, "Two replicas instead of two threads").
 *
 * Only for networks without buffers: BatchNorm normalises with the batch's statistics, which a
 * shard does not have (running each shard's own statistics would be another computation — the
 * "ghost batch" of PyTorch's DDP without SyncBatchNorm — not the step it claims to be).
 *
 * The first shard runs on the calling thread (its session reads the update's state directly, and
 * its allocations reuse that thread's malloc arena: a worker thread gets arenas of its own, which
 * memory freed elsewhere in the process does not serve), the others in worker threads. Parameters
 * cross to the workers through one SharedArrayBuffer the calling thread rewrites after each
 * update (the workers only read it during their run, while the calling thread waits for them);
 * shard feeds and gradients cross as transferred buffers.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { type Graph, type TensorData, tensor } from '../graph/ir.js';
import { type RuntimeOptions, Runner, StepRunner } from '../runtime/session.js';
import { alternating, nativeSessions } from '../runtime/core.js';
import type { LossKind } from '../nn/losses.js';
import type { OptimConfig } from '../optim/optimizers.js';
import type { GradOptions } from '../autodiff/walker.js';
import type { PreparedStep } from './batches.js';
import type { Network } from './network.js';
import { UsageError } from '../util/errors.js';
import { buildGradGraph, buildUpdateGraph, gradName, shardGradName, shardShareName } from './step.js';
import type { StepResult, TrainSteps } from './step-groups.js';

/** Replicas for a training: a count ≥ 1, or 'auto' (replicaPlan). */
export type ReplicaSetting = NonNullable<RuntimeOptions['replicas']>;

/** Rows a shard should keep at least for 'auto' to use another replica. */
export const MIN_SHARD_ROWS = 32;

export interface ReplicaPlan {
  replicas: number;
  /** Intra-op threads of each replica's session. */
  threadsPerReplica: number;
  /** Why this count (for logs and errors). */
  reason: string;
}

/**
 * How many replicas a training of `net` at batch `batch` runs with `threads` threads in all.
 * 'auto': one per thread, each single-threaded, while every shard keeps ≥ MIN_SHARD_ROWS rows —
 * for convolutional networks without buffers (BatchNorm), where the native kernels are not
 * loaded (with them one session is faster, bench/README.md); otherwise 1 (MLPs gained ≤ 8% from two
 * replicas before the update graph's own pass over the weights and the copies: not worth it). An
 * explicit count is checked against the network (buffers) and batch (≥ 1 row a shard).
 */
export function replicaPlan(net: Network, batch: number, setting: ReplicaSetting = 'auto', threads?: number, nativeKernels = nativeSessions() !== null): ReplicaPlan {
  const T = threads ?? availableParallelism();
  if (setting === 'auto') {
    if (net.bufferSpecs.length) return { replicas: 1, threadsPerReplica: T, reason: 'the network has buffers (BatchNorm): its step needs the whole batch' };
    if (!hasConv(net)) return { replicas: 1, threadsPerReplica: T, reason: 'no convolutions: one session with all threads is as fast' };
    // oneDNN's convolutions use every thread: one session (the cnn step 1.04× faster than on two replicas)
    if (nativeKernels) return { replicas: 1, threadsPerReplica: T, reason: 'the native kernels use all threads in one session' };
    const r = Math.max(1, Math.min(T, Math.floor(batch / MIN_SHARD_ROWS)));
    return { replicas: r, threadsPerReplica: Math.max(1, Math.floor(T / r)), reason: r > 1 ? `${r} threads, shards of ≥ ${MIN_SHARD_ROWS} rows` : `one thread, or a batch under ${2 * MIN_SHARD_ROWS}` };
  }
  const problem = (detail: string) => new UsageError({ param: 'runtime.replicas', value: String(setting), detail });
  if (!Number.isInteger(setting) || setting < 1) throw problem("expected an integer ≥ 1 or 'auto'");
  if (setting > 1 && net.bufferSpecs.length) {
    throw problem(
      `the model has BatchNorm (${net.bufferSpecs.length} running-statistics buffers, e.g. '${net.bufferSpecs[0].name}'); its step needs the whole batch's statistics, so it trains as one replica (1 or 'auto')`,
    );
  }
  if (setting > batch) throw problem(`more replicas than rows in a batch (${batch})`);
  return { replicas: setting, threadsPerReplica: Math.max(1, Math.floor(T / setting)), reason: 'as asked' };
}

/**
 * The training loop's replicated steps (runTraining's `replicated` hook, given by the Node
 * trainer): ReplicatedSteps where replicaPlan gives ≥ 2 replicas for the run's batch, else null
 * (the one-session StepGroups). Says which it chose through `log`.
 */
export async function replicatedSteps(net: Network, lossKind: LossKind, optim: OptimConfig, batch: number, runtime: RuntimeOptions | undefined, log: (text: string) => void): Promise<ReplicatedSteps | null> {
  const plan = replicaPlan(net, batch, runtime?.replicas ?? 'auto', runtime?.threads);
  if (plan.replicas < 2) return null;
  log(`training step on ${plan.replicas} replicas of ${Math.floor(batch / plan.replicas)}+ rows, ${plan.threadsPerReplica} thread(s) each (${plan.reason})`);
  return ReplicatedSteps.create(net, lossKind, optim, plan, runtime);
}

function hasConv(net: Network): boolean {
  return net.inferenceGraph().nodes.some((n) => n.op === 'Conv');
}

/** Messages between the main thread and a replica worker (src/train/replica-worker.ts). */
export interface ReplicaInit {
  graph: Graph;
  runtime: RuntimeOptions;
  /** Per parameter: [name, dims, offset, length], offset and length in floats within `params`. */
  layout: [string, number[], number, number][];
  params: SharedArrayBuffer;
  fetch: string[];
}
export type ReplicaRequest = { type: 'step'; feeds: Record<string, TensorData> } | { type: 'close' };
export type ReplicaReply = { type: 'ready' } | { type: 'done'; outs: Record<string, TensorData> } | { type: 'error'; message: string };

class ReplicaWorker {
  private pending: { resolve: (v: Record<string, TensorData>) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly w: Worker) {
    w.on('message', (m: ReplicaReply) => {
      const p = this.pending;
      this.pending = null;
      if (m.type === 'done') p?.resolve(m.outs);
      else if (m.type === 'error') p?.reject(new RangeError(`replica: ${m.message}`));
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new RangeError(`a replica's worker exited (code ${code})`)));
  }

  static create(init: ReplicaInit): Promise<ReplicaWorker> {
    const w = new Worker(new URL('./replica-worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (m: ReplicaReply) => {
        w.off('error', onError);
        if (m.type === 'ready') resolve(new ReplicaWorker(w));
        else {
          void w.terminate();
          reject(new RangeError(`replica: ${m.type === 'error' ? m.message : 'unexpected reply'}`));
        }
      };
      const onError = (e: Error) => reject(e);
      w.once('message', onMessage);
      w.once('error', onError);
    });
  }

  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new RangeError('replica: a step is already running'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      const transfer = [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))];
      this.w.postMessage({ type: 'step', feeds } satisfies ReplicaRequest, transfer);
    });
  }

  /** Ask the worker to release its session and end (no run is in flight when this is called). */
  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.w.once('exit', () => resolve()));
    this.w.postMessage({ type: 'close' } satisfies ReplicaRequest);
    await exited;
  }
}

/**
 * Training steps on R replicas (the TrainSteps the loop drives; one step per run). The state —
 * parameters and optimiser state, with the step graph's names and bindings — lives in the update
 * graph's StepRunner on the main thread.
 */
export class ReplicatedSteps implements TrainSteps {
  readonly k = 1;
  runs = 0;
  private readonly mirror: Map<string, Float32Array>;
  /** Per-example inputs of the gradient graph (rows split across shards); the rest go to every shard. */
  private readonly rowInputs: Set<string>;
  private readonly sharedInputs: string[];
  private readonly zeros: Map<string, TensorData>;

  private constructor(
    private readonly net: Network,
    /** Shard 0's session, on the calling thread. */
    private readonly local: Runner,
    /** Shards 1…R−1. */
    private readonly workers: ReplicaWorker[],
    private readonly update: StepRunner,
    private readonly updateInputs: string[],
    gradGraph: Graph,
    params: SharedArrayBuffer,
    layout: ReplicaInit['layout'],
    private readonly fetch: string[],
  ) {
    this.mirror = new Map(layout.map(([name, , off, len]) => [name, new Float32Array(params, off * 4, len)]));
    const state = new Set(net.paramSpecs.map((p) => p.name));
    const inputs = gradGraph.inputs.filter((v) => !state.has(v.name));
    this.rowInputs = new Set(inputs.filter((v) => v.shape[0] === 'N').map((v) => v.name));
    this.sharedInputs = inputs.filter((v) => v.shape[0] !== 'N').map((v) => v.name);
    this.zeros = new Map(net.paramSpecs.map((p) => [p.name, tensor('float32', p.dims)]));
    this.publish();
  }

  static async create(net: Network, lossKind: LossKind, optim: OptimConfig, plan: ReplicaPlan, runtime: RuntimeOptions = {}, grad?: GradOptions): Promise<ReplicatedSteps> {
    if (plan.replicas < 2) throw new RangeError(`replicated steps need ≥ 2 replicas, got ${plan.replicas}`);
    const { graph } = buildGradGraph(net, lossKind, { grad });
    const ug = buildUpdateGraph(net, optim, plan.replicas);
    let total = 0;
    const layout: ReplicaInit['layout'] = net.paramSpecs.map((p) => {
      const len = p.dims.reduce((a, b) => a * b, 1);
      const entry: [string, number[], number, number] = [p.name, [...p.dims], total, len];
      total += len;
      return entry;
    });
    const params = new SharedArrayBuffer(total * 4);
    const fetch = [...net.paramSpecs.map((p) => gradName(p.name)), 'loss', 'correct'];
    // The update and the shards take turns every step: no spinning threads (alternating).
    const rt: RuntimeOptions = { ...alternating(runtime), threads: plan.threadsPerReplica, profilePrefix: undefined };
    const updRunner = await Runner.create(ug.graph, { ...alternating(runtime), profilePrefix: undefined });
    let local: Runner | null = null;
    const workers: ReplicaWorker[] = [];
    try {
      local = await Runner.create(graph, rt);
      for (let r = 1; r < plan.replicas; r++) workers.push(await ReplicaWorker.create({ graph, runtime: rt, layout, params, fetch }));
    } catch (e) {
      for (const w of workers) await w.close();
      if (local) await local.release();
      await updRunner.release();
      throw e;
    }
    return new ReplicatedSteps(net, local, workers, new StepRunner(updRunner, ug.bindings, ug.initialState), ug.inputs, graph, params, layout, fetch);
  }

  get replicas(): number {
    return 1 + this.workers.length;
  }

  /** Copy the current parameters into the shared buffer the replicas read. */
  private publish(): void {
    const s = this.update.state;
    for (const [name, m] of this.mirror) m.set(s.get(name)!.data as Float32Array);
  }

  get state(): ReadonlyMap<string, TensorData> {
    return this.update.state;
  }

  setState(state: Map<string, TensorData>): void {
    this.update.setState(state);
    this.publish();
  }

  async run(steps: readonly PreparedStep[]): Promise<StepResult[]> {
    if (steps.length !== 1) throw new RangeError(`replicated steps run one step at a time, got ${steps.length}`);
    this.runs++;
    const feeds = steps[0].feeds;
    const n = feeds.input.dims[0];
    const R = this.replicas;
    const bounds = Array.from({ length: R + 1 }, (_, r) => Math.floor((r * n) / R));
    const shared: Record<string, TensorData> = {};
    for (const name of this.sharedInputs) {
      const t = feeds[name];
      if (!t) throw new RangeError(`replicated step: no feed '${name}'`);
      shared[name] = t;
    }
    // A worker's shard is copied (its buffers are transferred); shard 0 views the feeds.
    const shard = (r: number, copy: boolean): Record<string, TensorData> => {
      const [a, b] = [bounds[r], bounds[r + 1]];
      const f: Record<string, TensorData> = {};
      for (const name of this.rowInputs) f[name] = rows(feeds[name], a, b, name, copy);
      for (const [name, t] of Object.entries(shared)) f[name] = copy ? { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } : t;
      return f;
    };
    // The workers' shards first (they start at once), then shard 0 here.
    const remote = this.workers.map((w, i) => (bounds[i + 1] === bounds[i + 2] ? null : w.run(shard(i + 1, true))));
    const state = this.update.state;
    const params: Record<string, TensorData> = {};
    for (const p of this.net.paramSpecs) params[p.name] = state.get(p.name)!;
    const first = bounds[0] === bounds[1] ? null : await this.local.run({ ...shard(0, false), ...params }, this.fetch);
    const outs = [first, ...(await Promise.all(remote))];
    const upd: Record<string, TensorData> = {};
    for (const name of this.updateInputs) if (feeds[name]) upd[name] = feeds[name];
    let loss = 0;
    let correct = 0;
    outs.forEach((o, r) => {
      const share = (bounds[r + 1] - bounds[r]) / n;
      upd[shardShareName(r)] = tensor('float32', [], [share]);
      for (const p of this.net.paramSpecs) upd[shardGradName(p.name, r)] = o ? o[gradName(p.name)] : this.zeros.get(p.name)!;
      if (!o) return;
      loss += share * (o.loss.data as Float32Array)[0];
      correct += (o.correct.data as Float32Array)[0];
    });
    await this.update.step(upd);
    this.publish();
    return [{ loss, correct }];
  }

  async release(): Promise<void> {
    for (const w of this.workers) await w.close();
    await this.local.release();
    await this.update.runner.release();
  }
}

/** Rows [a, b) of a tensor whose first axis is the batch: a fresh copy (to transfer) or a view. */
function rows(t: TensorData | undefined, a: number, b: number, name: string, copy: boolean): TensorData {
  if (!t) throw new RangeError(`replicated step: no feed '${name}'`);
  const per = t.dims.slice(1).reduce((x, y) => x * y, 1);
  return { dtype: t.dtype, dims: [b - a, ...t.dims.slice(1)], data: copy ? t.data.slice(a * per, b * per) : t.data.subarray(a * per, b * per) };
}
