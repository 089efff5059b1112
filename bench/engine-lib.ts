/**
 * The engine's benchmark rows, shared by `npm run bench` and the peer comparison. Each row
 * prepares a pool of random batches (seeded) outside the timed loop and returns a `step(i)`
 * that does one unit of work the way training does it (batch copy, jitter, dropout masks, run).
 *
 * FLOP convention (same as bench/peers/torch_bench.py): a dense layer's forward costs
 * 2·B·in·out; biases, activations, loss and update are not counted; a training step counts 3×
 * the forward matmul FLOPs, inference and forward-only 1×.
 */
import { tensor, type TensorData } from '../src/graph/ir.js';
import { jitterBatch } from '../src/data/augment.js';
import { DEFAULT_OPTIM } from '../src/optim/optimizers.js';
import { Runner, StepRunner, type RuntimeOptions, alternating } from '../src/runtime/session.js';
import { forwardGraphWithParamInputs } from '../src/train/evaluate.js';
import { NetworkTeacher } from '../src/distill/online.js';
import { Network } from '../src/train/network.js';
import { type StepGraphOptions, buildStepGraph } from '../src/train/step.js';
import { DEFAULT_STEPS_PER_RUN, fillDropoutMask } from '../src/train/trainer.js';
import { stepName, unrollStepGraph } from '../src/train/unroll.js';
import { Rng } from '../src/util/rng.js';
import { type ReplicaSetting, ReplicatedSteps, replicaPlan } from '../src/train/replicas.js';
import { Conv2d, Linear, Residual, Sequential } from '../src/nn/layers.js';
import type { Module } from '../src/nn/module.js';
import type { ModelSpec } from '../src/nn/spec.js';

export const STUDENT = [784, 800, 800, 10];
export const TEACHER = [784, 1200, 1200, 10];
export const flopsPerSample = (dims: number[]) => dims.slice(1).reduce((s, o, i) => s + 2 * dims[i] * o, 0);

export type MlpRowName = 'student-kd-step' | 'online-kd-step' | 'teacher-step' | 'teacher-inference' | 'student-forward';
export type ConvRowName = 'cnn-kd-step' | 'resnet-kd-step' | 'mobilenet-kd-step' | 'cnn-teacher-inference';
export interface RowSpec {
  name: MlpRowName | ConvRowName;
  batch: number;
}
/** The convolutional rows: model spec and per-example input shape (10 classes). */
export const CONV_MODELS: Record<ConvRowName, { spec: string; inputShape: number[]; kd: boolean }> = {
  'cnn-kd-step': { spec: 'cnn:32,64:256', inputShape: [1, 28, 28], kd: true },
  'resnet-kd-step': { spec: 'resnet:16,32,64', inputShape: [3, 32, 32], kd: true },
  'mobilenet-kd-step': { spec: 'mobilenet:16,32,64,128', inputShape: [3, 32, 32], kd: true },
  'cnn-teacher-inference': { spec: 'cnn:32,64:256', inputShape: [1, 28, 28], kd: false },
};
export const isConvRow = (name: RowSpec['name']): name is ConvRowName => name in CONV_MODELS;
export const ROWS: RowSpec[] = [
  { name: 'student-kd-step', batch: 128 },
  { name: 'student-kd-step', batch: 256 },
  { name: 'online-kd-step', batch: 128 },
  { name: 'teacher-step', batch: 128 },
  { name: 'teacher-inference', batch: 1024 },
  { name: 'student-forward', batch: 128 },
  { name: 'cnn-kd-step', batch: 128 },
  { name: 'resnet-kd-step', batch: 128 },
  { name: 'mobilenet-kd-step', batch: 128 },
  { name: 'cnn-teacher-inference', batch: 1024 },
];
/** Row groups for `--group` (bench, bench:peer): the MLP rows of issue 7, the convolutional ones of issue 18. */
export const ROW_GROUPS = ['all', 'mlp', 'conv'] as const;
export type RowGroup = (typeof ROW_GROUPS)[number];

/**
 * The rows named by `--only` (name or name:batch, comma-separated) within `--group`; throws a
 * RangeError naming an unknown row or group.
 */
export function selectRows(only: string[] | undefined, group: string = 'all'): RowSpec[] {
  if (!(ROW_GROUPS as readonly string[]).includes(group)) throw new RangeError(`unknown row group '${group}'; valid: ${ROW_GROUPS.join(', ')}`);
  for (const o of only ?? []) {
    if (!ROWS.some((r) => o === r.name || o === `${r.name}:${r.batch}`)) throw new RangeError(`unknown row '${o}'; valid: ${ROWS.map((r) => `${r.name}[:${r.batch}]`).join(', ')}`);
  }
  return ROWS.filter((r) => (!only || only.some((o) => o === r.name || o === `${r.name}:${r.batch}`)) && (group === 'all' || (group === 'conv') === isConvRow(r.name)));
}

/**
 * Forward multiply-add FLOPs per example of a module tree: a convolution costs
 * 2·Cout·Hout·Wout·(Cin/group)·k², a dense layer 2·in·out; everything else 0. (The peer counts
 * the same with forward hooks on its own modules; bench:peer compares the two counts.)
 */
export function moduleFlops(m: Module, inShape: number[]): number {
  if (m instanceof Sequential) {
    let sh = inShape;
    let f = 0;
    for (const l of m.layers) {
      f += moduleFlops(l, sh);
      sh = l.outShape(sh);
    }
    return f;
  }
  if (m instanceof Residual) return moduleFlops(m.body, inShape) + (m.shortcut ? moduleFlops(m.shortcut, inShape) : 0);
  if (m instanceof Conv2d) {
    const [co, ho, wo] = m.outShape(inShape);
    return 2 * co * ho * wo * (m.inChannels / m.group) * m.kernel * m.kernel;
  }
  if (m instanceof Linear) return 2 * m.inFeatures * m.outFeatures;
  return 0;
}

export interface PreparedRow {
  spec: RowSpec;
  flopsPerStep: number;
  /**
   * One training step (or inference batch). Training rows run their graph once per
   * `stepsPerRun` steps, as training does: the other calls only prepare their batch.
   */
  step: (i: number) => Promise<void>;
  stepsPerRun: number;
  /**
   * KD rows only: the KD loss our step graph computes on pool batch 0 with the initial weights
   * (a separate state copy, lr = 0, so the timed state is untouched), and the same weights and
   * batch in the peer's --check file format (bench/peers/README.md) — for the peer check.
   */
  kdCheck?: (alpha: number) => Promise<{ loss: number; file: KdCheckFile }>;
  release: () => Promise<void>;
}

/** A tensor in the peer's --check format: shape plus flat row-major data. */
export interface CheckTensor {
  shape: number[];
  data: ArrayLike<number>;
}
/**
 * The peer's --check file. MLP rows: W1,b1,…,Wn,bn ([in,out] as our Gemm), x [B,in], y [B],
 * t [B,C], T, alpha. Convolutional rows: spec (our model spec string), inputShape, classes,
 * params {name: tensor} in our names and layouts (Conv [out,in/g,k,k], Linear [in,out], BatchNorm
 * weight/bias/running_mean/running_var), x [B,C,H,W], y, t, T, alpha.
 */
export type KdCheckFile = Record<string, CheckTensor | number | string | number[] | Record<string, CheckTensor>>;

const POOL = 8;

function randomPool(rng: Rng, n: number, size: number): Float32Array[] {
  return Array.from({ length: n }, () => {
    const a = new Float32Array(size);
    for (let i = 0; i < size; i++) a[i] = rng.float();
    return a;
  });
}

function mlpSpec(dims: number[], dropout = 0, inputDropout = 0) {
  return { spec: `mlp:${dims.slice(1, -1).join(',')}`, inputShape: [dims[0]], classes: dims[dims.length - 1], options: { dropout, inputDropout } };
}

export interface RowOptions extends StepGraphOptions {
  preallocate?: boolean;
  /** Training steps per graph run (default: what training uses, DEFAULT_STEPS_PER_RUN). */
  stepsPerRun?: number;
  /**
   * online-kd-step's teacher: 'trainer' (default) runs it as the trainer's online teacher does
   * (NetworkTeacher, src/distill/online.ts: its inference graph, weights as initializers, and the
   * log-softmax of each batch's logits); 'param-inputs' feeds its weights as graph inputs (what
   * the row did before the eleventh session; kept for A/B).
   */
  onlineTeacher?: 'trainer' | 'param-inputs';
  /**
   * teacher-inference and cnn-teacher-inference: 'initializers' (default) runs the network's
   * inference graph, weights as initializers, as the toolkit computes teacher outputs
   * (networkLogits, OnnxTeacher); 'param-inputs' feeds the weights as graph inputs (what these rows
   * measured before; kept for A/B). student-forward always feeds them as inputs: it is the
   * forward-only reference for the KD step, whose weights are inputs too.
   */
  inference?: 'initializers' | 'param-inputs';
  /**
   * KD and teacher-step rows: data-parallel replicas (src/train/replicas.ts), as training picks
   * them: 'auto' (default: replicaPlan for the row's network, batch and `rt.threads`) or a count.
   */
  replicas?: ReplicaSetting;
}

export async function prepareRow(spec: RowSpec, rt: RuntimeOptions, seed = 1234, stepOpts: RowOptions = {}): Promise<PreparedRow> {
  const rng = new Rng(seed);
  const B = spec.batch;
  const online = spec.name === 'online-kd-step';
  const conv = isConvRow(spec.name) ? CONV_MODELS[spec.name] : null;
  const dims = spec.name.startsWith('student') || online ? STUDENT : TEACHER;
  const C = conv ? 10 : dims[dims.length - 1];
  // The per-example input shape the graph takes ([D] for the MLPs) and its size.
  const inShape = conv ? conv.inputShape : [dims[0]];
  const D = inShape.reduce((a, b) => a * b, 1);
  const model: ModelSpec = conv ? { spec: conv.spec, inputShape: inShape, classes: C, options: {} } : mlpSpec(dims);
  const xs = randomPool(rng, POOL, B * D);
  const fwd = (conv ? moduleFlops(Network.create(model, seed).module, inShape) : flopsPerSample(dims)) * B;
  if (spec.name === 'teacher-inference' || spec.name === 'student-forward' || (conv && !conv.kd)) {
    const net = Network.create(model, seed);
    const asToolkit = spec.name !== 'student-forward' && (stepOpts.inference ?? 'initializers') === 'initializers';
    const runner = await Runner.create(asToolkit ? net.inferenceGraph() : forwardGraphWithParamInputs(net), rt);
    const extra: Record<string, TensorData> = {};
    if (!asToolkit) for (const p of net.paramSpecs) extra[p.name] = tensor('float32', p.dims, net.params.get(p.name)!);
    const [inName, outName] = [runner.inputNames[0], runner.outputNames[0]];
    const outs = { [outName]: tensor('float32', [B, C]) };
    return {
      spec,
      flopsPerStep: fwd,
      stepsPerRun: 1,
      step: async (i) => runner.runInto({ ...extra, [inName]: tensor('float32', [B, ...inShape], xs[i % POOL]) }, outs),
      release: async () => { if (rt.profilePrefix) await runner.endProfiling(); await runner.release(); },
    };
  }
  const kd = spec.name === 'student-kd-step' || online || conv !== null;
  // online-kd-step: its teacher and step sessions take turns every step, so neither spins, as in training (alternating).
  if (online) rt = alternating(rt);
  const net = Network.create(kd ? model : mlpSpec(dims, 0.5, 0.2), seed);
  const lossKind = kd ? 'soft-ce' : 'hard';
  const optim = { ...DEFAULT_OPTIM, momentum: 0.9 };
  const sg = buildStepGraph(net, lossKind, optim, stepOpts);
  const plan = replicaPlan(net, B, stepOpts.replicas ?? 'auto', rt.threads);
  // Replicated rows run one step per run on the replicas; their KD check runs on them too (lr 0,
  // then the initial state back), so no full-batch session grows the process's memory.
  const replicated = plan.replicas > 1 ? await ReplicatedSteps.create(net, lossKind, optim, plan, rt, stepOpts.grad) : null;
  const K = replicated ? 1 : (stepOpts.stepsPerRun ?? DEFAULT_STEPS_PER_RUN);
  // With K > 1 the one-step runner only serves the KD check: the profiler watches the timed one.
  const runner = replicated ? null : await Runner.create(sg.graph, K > 1 ? { ...rt, profilePrefix: undefined } : rt);
  const unrolled = K > 1 ? unrollStepGraph(sg, K) : null;
  const runnerK = unrolled ? await Runner.create(unrolled.graph, rt) : runner;
  const stepper = runnerK ? new StepRunner(runnerK, unrolled?.bindings ?? sg.bindings, sg.initialState, { preallocate: stepOpts.preallocate }) : null;
  // Keep only what the KD check needs to rebuild the initial state (not the initial state itself:
  // a copy of every weight and optimiser buffer that training would not hold either).
  const bindings = sg.bindings;
  const stateDims = new Map([...sg.initialState].map(([k, v]) => [k, v.dims]));
  const initialState = (): Map<string, TensorData> =>
    new Map(
      bindings.map((b) => {
        const src = net.params.get(b.input) ?? net.buffers.get(b.input) ?? (b.carryFrom ? net.params.get(b.carryFrom) : undefined);
        const dims = stateDims.get(b.input)!;
        return [b.input, tensor('float32', dims, src ? src.slice() : new Float32Array(dims.reduce((x, y) => x * y, 1)))];
      }),
    );
  const labels = Array.from({ length: POOL }, () => BigInt64Array.from({ length: B }, () => BigInt(rng.int(C))));
  const targets = labels.map((l) => {
    const t = new Float32Array(B * C);
    l.forEach((y, i) => (t[i * C + Number(y)] = 1));
    return t;
  });
  const teacher = randomPool(rng, POOL, B * C).map((a) => a.map((v) => 10 * (v - 0.5)));
  // online-kd-step: the teacher (784-1200-1200-10) runs on each jittered batch, as the trainer's
  // online teacher does (one forward per step, then the student's K-step run).
  const tNet = online ? Network.create(mlpSpec(TEACHER), seed + 3) : null;
  const asTrainer = (stepOpts.onlineTeacher ?? 'trainer') === 'trainer';
  const tRunner = tNet && !asTrainer ? await Runner.create(forwardGraphWithParamInputs(tNet), rt) : null;
  const tOnline = tNet && asTrainer ? await NetworkTeacher.create(tNet, 'bench teacher', rt) : null;
  const tExtra: Record<string, TensorData> = {};
  if (tNet && tRunner) for (const p of tNet.paramSpecs) tExtra[p.name] = tensor('float32', p.dims, tNet.params.get(p.name)!);
  // One batch buffer set per step of a run.
  const slots = Array.from({ length: K }, () => ({
    xBuf: new Float32Array(B * D),
    tBuf: new Float32Array(B * C),
    masks: sg.masks.map((m) => ({ m, buf: new Float32Array(B * m.rest.reduce((a, b) => a * b, 1)) })),
    lr: tensor('float32', [], [0.05]),
  }));
  let pendingFeeds: Record<string, TensorData> = {};
  let pending = 0;
  const jrng = new Rng(seed + 1);
  const drng = new Rng(seed + 2);
  const alpha = tensor('float32', [], [0.9]);
  const T = tensor('float32', [], [20]);
  const scalar = { dtype: 'float32' as const, dims: [] as number[] };
  const fetch = { loss: scalar, correct: scalar };
  const fetchK: Record<string, typeof scalar> = {};
  for (let j = 0; j < K; j++) for (const k of ['loss', 'correct']) fetchK[stepName(k, j)] = scalar;
  const kdCheck = async (a: number): Promise<{ loss: number; file: KdCheckFile }> => {
    const checkFeeds = {
      input: tensor('float32', [B, ...inShape], xs[0]),
      labels: tensor('int64', [B], labels[0]),
      targets: tensor('float32', [B, C], targets[0]),
      teacher: tensor('float32', [B, C], teacher[0]),
      lr: tensor('float32', [], [0]),
      alpha: tensor('float32', [], [a]),
      temperature: T,
    };
    let checkLoss: number;
    if (replicated) {
      checkLoss = (await replicated.run([{ feeds: checkFeeds, lr: 0 }]))[0].loss;
      replicated.setState(initialState());
    } else {
      const probe = new StepRunner(runner!, bindings, initialState());
      checkLoss = ((await probe.step(checkFeeds, { loss: fetch.loss })).loss.data as Float32Array)[0];
    }
    const file: KdCheckFile = {};
    const flat = (v: Float32Array) => v;
    if (conv) {
      // Named parameters and BatchNorm statistics (the peer builds the same spec and loads these).
      const params: Record<string, CheckTensor> = {};
      for (const p of net.paramSpecs) params[p.name] = { shape: [...p.dims], data: net.params.get(p.name)! };
      for (const b of net.bufferSpecs) params[b.name] = { shape: [...b.dims], data: net.buffers.get(b.name)! };
      Object.assign(file, { spec: conv.spec, inputShape: inShape, classes: C, params });
    } else {
      let k = 0;
      for (const p of net.paramSpecs) {
        const v = net.params.get(p.name)!; // the initial weights (the runner trains copies)
        if (p.dims.length === 2) file[`W${++k}`] = { shape: [...p.dims], data: flat(v) };
        else file[`b${k}`] = { shape: [...p.dims], data: flat(v) };
      }
    }
    file.x = { shape: [B, ...inShape], data: flat(xs[0]) };
    file.y = { shape: [B], data: Float64Array.from(labels[0], Number) };
    file.t = { shape: [B, C], data: flat(teacher[0]) };
    file.T = T.data[0] as number;
    file.alpha = a;
    return { loss: checkLoss, file };
  };
  return {
    spec,
    flopsPerStep: 3 * fwd + (online ? flopsPerSample(TEACHER) * B : 0),
    ...(kd ? { kdCheck } : {}),
    stepsPerRun: K,
    step: async (i) => {
      const k = i % POOL;
      const slot = slots[pending];
      let x = xs[k];
      let t = teacher[k];
      if (online) {
        jitterBatch(xs[k], slot.xBuf, B, [1, 28, 28], 2, jrng);
        x = slot.xBuf;
        if (tOnline) await tOnline.logits(x, B, slot.tBuf);
        else await tRunner!.runInto({ ...tExtra, input: tensor('float32', [B, D], x) }, { logits: tensor('float32', [B, C], slot.tBuf) });
        t = slot.tBuf;
      }
      if (!kd) {
        jitterBatch(xs[k], slot.xBuf, B, [1, 28, 28], 2, jrng);
        x = slot.xBuf;
        for (const mk of slot.masks) fillDropoutMask(mk.buf, mk.buf.length, mk.m.p, drng);
      }
      const feeds: Record<string, TensorData> = {
        input: tensor('float32', [B, ...inShape], x),
        labels: tensor('int64', [B], labels[k]),
        targets: tensor('float32', [B, C], targets[k]),
        lr: slot.lr,
      };
      if (kd) Object.assign(feeds, { teacher: tensor('float32', [B, C], t), alpha, temperature: T });
      for (const mk of slot.masks) feeds[`mask/${mk.m.name}`] = tensor('float32', [B, ...mk.m.rest], mk.buf);
      if (replicated) {
        await replicated.run([{ feeds, lr: 0.05 }]);
        return;
      }
      if (K === 1) {
        await stepper!.step(feeds, fetch);
        return;
      }
      for (const [name, v] of Object.entries(feeds)) pendingFeeds[stepName(name, pending)] = v;
      if (++pending < K) return;
      await stepper!.step(pendingFeeds, fetchK);
      pendingFeeds = {};
      pending = 0;
    },
    release: async () => {
      if (rt.profilePrefix && runnerK) await runnerK.endProfiling();
      if (replicated) await replicated.release();
      if (runner) await runner.release();
      if (runnerK && runnerK !== runner) await runnerK.release();
      if (tRunner) await tRunner.release();
      if (tOnline) await tOnline.release();
    },
  };
}

export interface RowResult {
  name: string;
  batch: number;
  samplesPerSec: number;
  gflops: number;
  msPerStep: number;
  passes: number[];
}

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Time `steps` steps per pass after `warmup` steps; one pass. Returns seconds. */
export async function timePass(row: PreparedRow, steps: number, offset: number): Promise<number> {
  if (steps % row.stepsPerRun !== 0) throw new RangeError(`${row.spec.name}: a timed pass must be whole graph runs: steps ${steps} is not a multiple of ${row.stepsPerRun} steps per run`);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await row.step(offset + i);
  return (performance.now() - t0) / 1000;
}

export function resultOf(row: PreparedRow, steps: number, passSeconds: number[]): RowResult {
  const sec = median(passSeconds);
  const B = row.spec.batch;
  return {
    name: row.spec.name,
    batch: B,
    samplesPerSec: (steps * B) / sec,
    gflops: (steps * row.flopsPerStep) / sec / 1e9,
    msPerStep: (1000 * sec) / steps,
    passes: passSeconds.map((s) => (steps * B) / s),
  };
}
