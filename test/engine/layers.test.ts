/**
 * Layers: BatchNorm's training statistics and running averages (ONNX momentum convention) and
 * its inference path; Dropout in training and at inference; Flatten and Reshape; model specs.
 * Expected values are computed here in plain JS (float64).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type TensorData, type Value, tensor } from '../../src/graph/ir.js';
import { Flatten, Linear, Reshape, Sequential } from '../../src/nn/layers.js';
import type { ForwardCtx, Module } from '../../src/nn/module.js';
import { type ModelOptions, modelInputShape, parseSpec } from '../../src/nn/spec.js';
import { toOnnxBytes } from '../../src/graph/onnx.js';
import { createHash } from 'node:crypto';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { Runner, StepRunner } from '../../src/runtime/session.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { buildStepGraph } from '../../src/train/step.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { convF, linearF, pool2F, reluF, softmaxCE } from './reference-impl.js';

const RT = { threads: 1 };
const EPS = 1e-5; // BatchNorm's epsilon (the layer's default)
const MOM = 0.9; // BatchNorm's momentum (the layer's default)

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * Math.max(scale, 1e-30), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

const rand = (n: number, rng: Rng, f = () => rng.normal()) => Float32Array.from({ length: n }, f);
const to64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** Per-channel batch mean and biased variance of x [N, C, S] (S = spatial size, 1 for [N,C]). */
function channelStats(x: Float64Array, N: number, C: number, S: number): { mean: Float64Array; varB: Float64Array } {
  const mean = new Float64Array(C);
  const varB = new Float64Array(C);
  const m = N * S;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += x[(n * C + c) * S + k];
    mean[c] = s / m;
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) q += (x[(n * C + c) * S + k] - mean[c]) ** 2;
    varB[c] = q / m;
  }
  return { mean, varB };
}

function normalise(x: Float64Array, N: number, C: number, S: number, mean: ArrayLike<number>, v: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < S; k++) {
        const i = (n * C + c) * S + k;
        y[i] = ((x[i] - mean[c]) / Math.sqrt(v[c] + EPS)) * gamma[c] + beta[c];
      }
  return y;
}

function oneHot(labels: Int32Array, C: number): Float32Array {
  const t = new Float32Array(labels.length * C);
  labels.forEach((y, i) => (t[i * C + y] = 1));
  return t;
}

/** Randomise every parameter and buffer (positive variances) so nothing is trivially 0 or 1. */
function randomise(net: Network, seed: number): void {
  const rng = new Rng(seed);
  for (const v of net.params.values()) for (let i = 0; i < v.length; i++) v[i] = 0.5 * rng.normal();
  for (const [k, v] of net.buffers) for (let i = 0; i < v.length; i++) v[i] = k.endsWith('running_var') ? 0.5 + rng.float() : rng.normal();
}

/** One SGD step with lr 0 (weights unchanged); returns the loss and the new state. */
async function oneStep(net: Network, x: Float32Array, labels: Int32Array, masks: Record<string, Float32Array> = {}) {
  const N = labels.length;
  const C = net.spec.classes;
  const sg = buildStepGraph(net, 'hard', { ...DEFAULT_OPTIM, momentum: 0 });
  const runner = await Runner.create(sg.graph, RT);
  const stepper = new StepRunner(runner, sg.bindings, sg.initialState);
  const feeds: Record<string, TensorData> = {
    input: tensor('float32', [N, ...net.spec.inputShape], x),
    labels: tensor('int64', [N], BigInt64Array.from(labels, (v) => BigInt(v))),
    targets: tensor('float32', [N, C], oneHot(labels, C)),
    lr: tensor('float32', [], [0]),
  };
  for (const m of sg.masks) feeds[`mask/${m.name}`] = tensor('float32', [N, ...m.rest], masks[m.name]);
  const out = await stepper.step(feeds, { loss: { dtype: 'float32', dims: [] } });
  const state = new Map([...stepper.state].map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)]));
  await runner.release();
  return { loss: (out.loss.data as Float32Array)[0], state };
}

describe('BatchNorm', () => {
  const opts: ModelOptions = { batchNorm: true };

  it('1-d: training normalises with batch statistics and updates running ones as m·running + (1−m)·batch (biased variance)', async () => {
    const net = Network.create({ spec: 'mlp:6', inputShape: [5], classes: 3, options: opts }, 1);
    assert.deepEqual(
      net.bufferSpecs.map((b) => b.name),
      ['fc1.bn.running_mean', 'fc1.bn.running_var'],
    );
    randomise(net, 2);
    const N = 8;
    const rng = new Rng(3);
    const x = rand(N * 5, rng);
    const labels = Int32Array.from({ length: N }, () => rng.int(3));
    const { loss, state } = await oneStep(net, x, labels);

    const P = (k: string) => to64(net.params.get(k)!);
    const h = linearF(to64(x), N, 5, 6, P('fc1.weight'), P('fc1.bias'));
    const { mean, varB } = channelStats(h, N, 6, 1);
    const rm0 = net.buffers.get('fc1.bn.running_mean')!;
    const rv0 = net.buffers.get('fc1.bn.running_var')!;
    close(state.get('fc1.bn.running_mean')!, [...mean].map((m, c) => MOM * rm0[c] + (1 - MOM) * m), 1e-5, 'running_mean');
    close(state.get('fc1.bn.running_var')!, [...varB].map((v, c) => MOM * rv0[c] + (1 - MOM) * v), 1e-5, 'running_var');
    // The training forward pass uses the batch statistics, not the running ones.
    const y = reluF(normalise(h, N, 6, 1, mean, varB, P('fc1.bn.weight'), P('fc1.bn.bias')));
    const z = linearF(y, N, 6, 3, P('out.weight'), P('out.bias'));
    const ref = softmaxCE(z, labels, N, 3).loss;
    assert.ok(Math.abs(loss - ref) <= 1e-5 * Math.abs(ref), `training loss ${loss} vs ${ref}`);
  });

  it('1-d: inference uses the running statistics', async () => {
    const net = Network.create({ spec: 'mlp:6', inputShape: [5], classes: 3, options: opts }, 1);
    randomise(net, 4);
    const N = 7;
    const rng = new Rng(5);
    const x = rand(N * 5, rng);
    const logits = await networkLogits(net, { x, y: new Int32Array(N), n: N, shape: [5], classes: 3, source: 'test' }, RT);
    const P = (k: string) => to64(net.params.get(k)!);
    const h = linearF(to64(x), N, 5, 6, P('fc1.weight'), P('fc1.bias'));
    const y = reluF(normalise(h, N, 6, 1, net.buffers.get('fc1.bn.running_mean')!, net.buffers.get('fc1.bn.running_var')!, P('fc1.bn.weight'), P('fc1.bn.bias')));
    close(logits, linearF(y, N, 6, 3, P('out.weight'), P('out.bias')), 1e-5, 'logits');
  });

  it('2-d (after a convolution): statistics over batch, height and width per channel', async () => {
    const net = Network.create({ spec: 'cnn:2', inputShape: [1, 6, 6], classes: 3, options: opts }, 1);
    assert.deepEqual(
      net.bufferSpecs.map((b) => [b.name, b.dims]),
      [
        ['conv1.bn.running_mean', [2]],
        ['conv1.bn.running_var', [2]],
      ],
    );
    randomise(net, 6);
    const N = 4;
    const rng = new Rng(7);
    const x = rand(N * 36, rng, () => rng.float());
    const labels = Int32Array.from({ length: N }, () => rng.int(3));
    const { state } = await oneStep(net, x, labels);
    const conv = convF(to64(x), { N, C: 1, H: 6, W: 6, O: 2, K: 5, pad: 2 }, to64(net.params.get('conv1.weight')!), to64(net.params.get('conv1.bias')!));
    const { mean, varB } = channelStats(conv, N, 2, 36);
    const rm0 = net.buffers.get('conv1.bn.running_mean')!;
    const rv0 = net.buffers.get('conv1.bn.running_var')!;
    close(state.get('conv1.bn.running_mean')!, [...mean].map((m, c) => MOM * rm0[c] + (1 - MOM) * m), 1e-5, 'running_mean');
    close(state.get('conv1.bn.running_var')!, [...varB].map((v, c) => MOM * rv0[c] + (1 - MOM) * v), 1e-5, 'running_var');

    // Inference: running statistics, then pool, ReLU, Linear.
    const logits = await networkLogits(net, { x, y: new Int32Array(N), n: N, shape: [1, 6, 6], classes: 3, source: 'test' }, RT);
    const bn = normalise(conv, N, 2, 36, rm0, rv0, net.params.get('conv1.bn.weight')!, net.params.get('conv1.bn.bias')!);
    const h = reluF(pool2F(bn, N * 2, 6, 6).y);
    close(logits, linearF(h, N, 18, 3, to64(net.params.get('out.weight')!), to64(net.params.get('out.bias')!)), 1e-5, 'cnn logits');
  });
});

describe('Dropout', () => {
  const spec = { spec: 'mlp:16,8', inputShape: [10], classes: 4 };

  it('is the identity at inference: no mask inputs, and logits equal the same weights without dropout', async () => {
    const withDrop = Network.create({ ...spec, options: { dropout: 0.5, inputDropout: 0.2 } }, 3);
    randomise(withDrop, 8);
    const plain = new Network({ ...spec, options: {} }, withDrop.params, new Map());
    const g = withDrop.inferenceGraph();
    assert.deepEqual(g.inputs.map((v) => v.name), ['input']);
    assert.ok(Buffer.from(withDrop.toOnnx()).length > 0);
    const rng = new Rng(9);
    const N = 5;
    const ds = { x: rand(N * 10, rng), y: new Int32Array(N), n: N, shape: [10], classes: 4, source: 'test' };
    const a = await networkLogits(withDrop, ds, RT);
    const b = await networkLogits(plain, ds, RT);
    assert.deepEqual(a, b);
  });

  it('in training multiplies by the fed mask: ones change nothing, zeros cut the layer off', async () => {
    const withDrop = Network.create({ ...spec, options: { dropout: 0.5 } }, 3);
    randomise(withDrop, 10);
    assert.deepEqual(withDrop.maskSpecs.map((m) => [m.name, m.rest, m.p]), [
      ['fc1.dropout', [16], 0.5],
      ['fc2.dropout', [8], 0.5],
    ]);
    const plain = new Network({ ...spec, options: {} }, withDrop.params, new Map());
    const N = 6;
    const rng = new Rng(11);
    const x = rand(N * 10, rng);
    const labels = Int32Array.from({ length: N }, () => rng.int(4));
    const ones = { 'fc1.dropout': new Float32Array(N * 16).fill(1), 'fc2.dropout': new Float32Array(N * 8).fill(1) };
    const a = await oneStep(withDrop, x, labels, ones);
    const b = await oneStep(plain, x, labels);
    assert.equal(a.loss, b.loss);
    // Zero mask on the last hidden layer: logits = out.bias for every row.
    const cut = { 'fc1.dropout': ones['fc1.dropout'], 'fc2.dropout': new Float32Array(N * 8) };
    const c = await oneStep(withDrop, x, labels, cut);
    const bias = to64(withDrop.params.get('out.bias')!);
    const z = new Float64Array(N * 4).map((_, i) => bias[i % 4]);
    const ref = softmaxCE(z, labels, N, 4).loss;
    assert.ok(Math.abs(c.loss - ref) <= 1e-6 * ref, `${c.loss} vs ${ref}`);
  });
});

describe('Flatten and Reshape', () => {
  /** Run a module on a batch through its own little graph; returns its output. */
  async function runModule(m: Module, inShape: number[], x: Float32Array, N: number): Promise<TensorData> {
    const g = new GraphBuilder('m');
    const input = g.input('input', 'float32', ['N', ...inShape]);
    const ctx: ForwardCtx = {
      g,
      training: false,
      param: (s) => g.initializer(s.name, tensor('float32', s.dims, rand(s.dims.reduce((a, b) => a * b, 1), new Rng(1)))),
      buffer: () => {
        throw new Error('no buffers');
      },
      setBuffer: () => {},
      dropoutMask: () => null,
    };
    const y: Value = m.forward(ctx, input, inShape);
    g.output(y, 'y');
    const r = await Runner.create(g.build(), RT);
    const out = await r.run({ input: tensor('float32', [N, ...inShape], x) });
    await r.release();
    return out.y;
  }

  it('Reshape [24] → [2,3,4] and Flatten back keep row-major order', async () => {
    const N = 3;
    const x = rand(N * 24, new Rng(12));
    const r = await runModule(new Reshape([2, 3, 4]), [24], x, N);
    assert.deepEqual(r.dims, [N, 2, 3, 4]);
    assert.deepEqual(r.data, x);
    const f = await runModule(new Flatten(), [2, 3, 4], x, N);
    assert.deepEqual(f.dims, [N, 24]);
    assert.deepEqual(f.data, x);
    const seq = new Sequential([new Reshape([2, 3, 4]), new Flatten()]);
    assert.deepEqual(seq.outShape([24]), [24]);
    assert.deepEqual((await runModule(seq, [24], x, N)).data, x);
    // Flatten of an already flat input is a no-op.
    assert.deepEqual(new Flatten().outShape([7]), [7]);
  });

  it('shape mismatches are rejected when the model is assembled', () => {
    assert.throws(() => new Reshape([5]).outShape([24]), RangeError);
    assert.throws(() => new Sequential([new Flatten(), new Linear('fc', 23, 4)]).outShape([2, 3, 4]), RangeError);
    assert.deepEqual(new Sequential([new Flatten(), new Linear('fc', 24, 4)]).outShape([2, 3, 4]), [4]);
  });
});

describe('model specs', () => {
  it('parses mlp:800,800 / cnn:32,64:1024 / cnn:32 / linear', () => {
    const d = { kernel: 5, blocks: 1 };
    assert.deepEqual(parseSpec('mlp:800,800'), { kind: 'mlp', conv: [], hidden: [800, 800], ...d });
    assert.deepEqual(parseSpec('mlp:1200'), { kind: 'mlp', conv: [], hidden: [1200], ...d });
    assert.deepEqual(parseSpec('cnn:32,64:1024'), { kind: 'cnn', conv: [32, 64], hidden: [1024], ...d });
    assert.deepEqual(parseSpec('cnn:32'), { kind: 'cnn', conv: [32], hidden: [], ...d });
    assert.deepEqual(parseSpec('linear'), { kind: 'mlp', conv: [], hidden: [], ...d });
    assert.deepEqual(parseSpec(' mlp:800, 800 '), { kind: 'mlp', conv: [], hidden: [800, 800], ...d });
  });

  it('parses the zoo: cnn:…@K, resnet:C1,…[:B], mobilenet:C1,C2,…', () => {
    assert.deepEqual(parseSpec('cnn:32,64:256@3'), { kind: 'cnn', conv: [32, 64], hidden: [256], kernel: 3, blocks: 1 });
    assert.deepEqual(parseSpec('cnn:8@7'), { kind: 'cnn', conv: [8], hidden: [], kernel: 7, blocks: 1 });
    assert.deepEqual(parseSpec('cnn:8,16:32@5'), parseSpec('cnn:8,16:32'));
    assert.deepEqual(parseSpec('resnet:16,32,64'), { kind: 'resnet', conv: [16, 32, 64], hidden: [], kernel: 3, blocks: 1 });
    assert.deepEqual(parseSpec('resnet:16,32,64:3'), { kind: 'resnet', conv: [16, 32, 64], hidden: [], kernel: 3, blocks: 3 });
    assert.deepEqual(parseSpec('mobilenet:16,32,64,64'), { kind: 'mobilenet', conv: [16, 32, 64, 64], hidden: [], kernel: 3, blocks: 1 });
  });

  it('builds the layers a spec names, with sizes from the data', () => {
    const mlp = Network.create({ spec: 'mlp:800,800', inputShape: [784], classes: 10, options: {} }, 1);
    assert.deepEqual(
      mlp.paramSpecs.map((p) => [p.name, p.dims]),
      [
        ['fc1.weight', [784, 800]],
        ['fc1.bias', [800]],
        ['fc2.weight', [800, 800]],
        ['fc2.bias', [800]],
        ['out.weight', [800, 10]],
        ['out.bias', [10]],
      ],
    );
    const cnn = Network.create({ spec: 'cnn:32,64:1024', inputShape: [1, 28, 28], classes: 10, options: {} }, 1);
    assert.deepEqual(
      cnn.paramSpecs.map((p) => [p.name, p.dims]),
      [
        ['conv1.weight', [32, 1, 5, 5]],
        ['conv1.bias', [32]],
        ['conv2.weight', [64, 32, 5, 5]],
        ['conv2.bias', [64]],
        ['fc1.weight', [64 * 7 * 7, 1024]],
        ['fc1.bias', [1024]],
        ['out.weight', [1024, 10]],
        ['out.bias', [10]],
      ],
    );
    const lin = Network.create({ spec: 'linear', inputShape: [784], classes: 10, options: {} }, 1);
    assert.equal(lin.parameterCount, 7850);
  });

  it('rejects specs that do not parse with a one-line UsageError quoting the spec', () => {
    const bad = ['', 'mlp', 'mlp:', 'mlp:0', 'mlp:-5', 'mlp:8.5', 'mlp:abc', 'mlp:800,,800', 'mlp:800:800', 'mlp:1e3', 'mlp:0x10', 'MLP:800', 'rnn:5', 'cnn:', 'cnn::10', 'cnn:32,64:1024:10', 'cnn:a:10', 'linear:10', 'mlp 800',
      'cnn:32@4', 'cnn:32@0', 'cnn:32@', 'cnn:32@3@3', 'cnn:32@x', 'cnn@3', 'mlp:8@3', 'resnet', 'resnet:', 'resnet:16,32:0', 'resnet:16:2,3', 'resnet:16:1:1', 'resnet:16@3', 'mobilenet:', 'mobilenet:16', 'mobilenet:16,0', 'mobilenet:16,32:10'];
    for (const s of bad) {
      assert.throws(
        () => parseSpec(s),
        (e: unknown) => e instanceof UsageError && e.message.includes(`'${s}'`) && !e.message.includes('\n'),
        `spec ${JSON.stringify(s)} was accepted`,
      );
    }
  });

  it('rejects bad model options with a UsageError', () => {
    for (const options of [{ dropout: 1 }, { dropout: -0.1 }, { inputDropout: 1.5 }]) {
      assert.throws(() => Network.create({ spec: 'mlp:4', inputShape: [3], classes: 2, options }, 1), UsageError);
    }
    assert.throws(() => Network.create({ spec: 'mlp:4', inputShape: [3], classes: 1, options: {} }, 1), UsageError);
  });

  it('resnet:16,32,64 is ResNet-8: stem, three stages of one basic block, projections where the shape changes, pooling, linear', () => {
    const net = Network.create({ spec: 'resnet:16,32,64', inputShape: [1, 28, 28], classes: 10, options: {} }, 1);
    const convs = net.paramSpecs.filter((p) => p.dims.length === 4).map((p) => [p.name, p.dims]);
    assert.deepEqual(convs, [
      ['stem.conv.weight', [16, 1, 3, 3]],
      ['stage1.block1.conv1.weight', [16, 16, 3, 3]],
      ['stage1.block1.conv2.weight', [16, 16, 3, 3]],
      ['stage2.block1.conv1.weight', [32, 16, 3, 3]],
      ['stage2.block1.conv2.weight', [32, 32, 3, 3]],
      ['stage2.block1.shortcut.weight', [32, 16, 1, 1]],
      ['stage3.block1.conv1.weight', [64, 32, 3, 3]],
      ['stage3.block1.conv2.weight', [64, 64, 3, 3]],
      ['stage3.block1.shortcut.weight', [64, 32, 1, 1]],
    ]);
    // 1 + 2·3 weighted layers with 3×3 kernels + the linear layer = 8; no conv biases (BN follows)
    assert.equal(convs.filter(([, d]) => (d as number[])[2] === 3).length + 1, 8);
    assert.ok(!net.paramSpecs.some((p) => /conv\d?\.bias$|shortcut\.bias$/.test(p.name)));
    const bns = net.paramSpecs.filter((p) => p.name.endsWith('.bn.weight')).length;
    assert.equal(bns, 9);
    assert.equal(net.bufferSpecs.length, 2 * bns);
    assert.deepEqual(net.paramSpecs.slice(-2).map((p) => [p.name, p.dims]), [['out.weight', [64, 10]], ['out.bias', [10]]]);
    const n = (c: number[][]) => c.reduce((a, d) => a + d.reduce((x, y) => x * y, 1), 0);
    const convCount = n(convs.map(([, d]) => d as number[]));
    assert.equal(net.parameterCount, convCount + 2 * (16 + 16 + 16 + 3 * 32 + 3 * 64) + 64 * 10 + 10);
    // stride 2 into stages 2 and 3: 28 → 14 → 7; then GlobalAveragePool
    const g = net.inferenceGraph();
    const strides = g.nodes.filter((x) => x.op === 'Conv').map((x) => (x.attrs.strides as { value: number[] }).value[0]);
    assert.deepEqual(strides, [1, 1, 1, 2, 1, 2, 2, 1, 2]);
    assert.equal(g.nodes.filter((x) => x.op === 'GlobalAveragePool').length, 1);
    assert.equal(g.nodes.filter((x) => x.op === 'Add').length, 3);
    const deep = Network.create({ spec: 'resnet:16,32,64:3', inputShape: [1, 28, 28], classes: 10, options: {} }, 1);
    assert.equal(deep.paramSpecs.filter((p) => p.dims.length === 4 && p.dims[2] === 3).length + 1, 20); // ResNet-20
  });

  it('mobilenet: depthwise (group = channels) then pointwise convolutions, stride 2 where the width grows, ReLU6', () => {
    const net = Network.create({ spec: 'mobilenet:8,16,16,32', inputShape: [3, 12, 12], classes: 4, options: {} }, 1);
    assert.deepEqual(
      net.paramSpecs.filter((p) => p.dims.length === 4).map((p) => [p.name, p.dims]),
      [
        ['stem.conv.weight', [8, 3, 3, 3]],
        ['block1.dw.weight', [8, 1, 3, 3]],
        ['block1.pw.weight', [16, 8, 1, 1]],
        ['block2.dw.weight', [16, 1, 3, 3]],
        ['block2.pw.weight', [16, 16, 1, 1]],
        ['block3.dw.weight', [16, 1, 3, 3]],
        ['block3.pw.weight', [32, 16, 1, 1]],
      ],
    );
    const g = net.inferenceGraph();
    const convs = g.nodes.filter((x) => x.op === 'Conv');
    assert.deepEqual(
      convs.map((x) => [(x.attrs.strides as { value: number[] }).value[0], (x.attrs.group as { value: number } | undefined)?.value ?? 1]),
      [[1, 1], [2, 8], [1, 1], [1, 16], [1, 1], [2, 16], [1, 1]],
    );
    assert.equal(g.nodes.filter((x) => x.op === 'Clip').length, 7);
    assert.deepEqual(net.paramSpecs.slice(-2).map((p) => [p.name, p.dims]), [['out.weight', [32, 4]], ['out.bias', [4]]]);
  });

  it('cnn:…@3 uses 3×3 kernels with padding 1', () => {
    const net = Network.create({ spec: 'cnn:8,16:32@3', inputShape: [1, 28, 28], classes: 10, options: {} }, 1);
    assert.deepEqual(net.paramSpecs.filter((p) => p.dims.length === 4).map((p) => p.dims), [[8, 1, 3, 3], [16, 8, 3, 3]]);
    assert.deepEqual(net.paramSpecs.find((p) => p.name === 'fc1.weight')!.dims, [16 * 7 * 7, 32]);
    const pads = net.inferenceGraph().nodes.filter((x) => x.op === 'Conv').map((x) => (x.attrs.pads as { value: number[] }).value);
    assert.deepEqual(pads, [[1, 1, 1, 1], [1, 1, 1, 1]]);
  });

  it('existing specs build byte-identical models and step graphs to before the zoo (hashes made by commit b7d6ad0)', () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const cases: [string, number[], ModelOptions, string, string | null][] = [
      ['cnn:4,8:16', [1, 12, 12], {}, 'a7a777fad0d3c8779c67f1167962bcb7ff68ba7209755819644c1a0a80cccf08', '9d226026515b574e2433c852a4db88c9caf5a7b7c451630e6774856e375b5efd'],
      ['cnn:3', [2, 8, 8], { batchNorm: true }, 'eb9b66f52c8d9483d45053f7e9e349f961f08a98d848f5fe893353935e268717', '3a0398dd7a985219275298848219554d7b8a12a1e0caf4f937008a5e9a73a0f3'],
      ['mlp:8,6', [20], { dropout: 0.5 }, '249134173fba96601a8c6b33c2f3be3d6c326329629960bdd6b3f787c2a9d7f7', null],
    ];
    for (const [spec, inputShape, options, model, step] of cases) {
      const net = Network.create({ spec, inputShape, classes: 5, options }, 3);
      assert.equal(sha(net.toOnnx()), model, `${spec}: saved model bytes changed`);
      // The step graph with the gradient formulations of that commit (issue 18 changed the
      // defaults; grad-forms.test.ts checks the new forms give the same gradients).
      const then = { grad: { convInputGrad: 'convtranspose', convWeightGrad: 'conv', batchNormGrad: 'plain', maskGrad: 'where', maxPoolGrad: 'indices' } } as const;
      if (step) assert.equal(sha(toOnnxBytes(buildStepGraph(net, 'hard', { ...DEFAULT_OPTIM }, then).graph)), step, `${spec}: step graph changed`);
    }
  });

  it('resnet and mobilenet refuse options that do not apply to them, and inputs that are not images', () => {
    for (const spec of ['resnet:4,8', 'mobilenet:4,8']) {
      assert.throws(() => Network.create({ spec, inputShape: [1, 8, 8], classes: 3, options: { batchNorm: true } }, 1), (e: unknown) => e instanceof UsageError && e.problem?.param === 'options.batchNorm' && /already has BatchNorm after every convolution/.test(e.message));
      assert.throws(() => Network.create({ spec, inputShape: [1, 8, 8], classes: 3, options: { activation: 'tanh' } }, 1), UsageError);
      assert.throws(() => modelInputShape(spec, [5, 7]), (e: unknown) => e instanceof UsageError && e.message.includes(spec) && /image data \[C,H,W\]/.test(e.message));
      assert.deepEqual(modelInputShape(spec, [3, 9, 9]), [3, 9, 9]);
      // dropout goes before the linear layer
      const d = Network.create({ spec, inputShape: [1, 8, 8], classes: 3, options: { dropout: 0.3 } }, 1);
      assert.deepEqual(d.maskSpecs, [{ name: 'out.dropout', rest: [8], p: 0.3 }]);
    }
  });
});

