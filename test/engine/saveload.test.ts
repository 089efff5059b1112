/**
 * Save and load: a trained model saved with toOnnx() is byte-identical for identical weights
 * (no timestamps, no random names), loads back with Network.fromOnnx with bitwise the same
 * weights, and scores the same when run by plain onnxruntime-node outside our code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { fromOnnxBytes, toOnnxBytes } from '../../src/graph/onnx.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { ModelOptions } from '../../src/nn/spec.js';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { evaluateNetwork, networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, type TrainConfig, trainNetwork } from '../../src/train/trainer.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const RT = { threads: 1 };
const dir = mkdtempSync(join(tmpdir(), 'dk-saveload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mnist = loadBuiltinMnist();
const pick = (ds: Dataset, n: number, seed: number) => subset(ds, new Rng(seed).permutation(ds.n).subarray(0, n));

async function trained(spec: string, inputShape: number[], n: number, options: ModelOptions = {}, seed = 1, extra: Partial<TrainConfig> = {}): Promise<Network> {
  const net = Network.create({ spec, inputShape, classes: 10, options }, seed);
  const cfg = { ...DEFAULT_TRAIN, epochs: 1, batch: 50, seed, optim: { ...DEFAULT_OPTIM }, ...extra };
  await trainNetwork(net, pick(mnist.train, n, 7), cfg, { runtime: RT });
  return net;
}

function paramsEqual(a: Network, b: Network): void {
  assert.deepEqual([...a.params.keys()], [...b.params.keys()]);
  for (const [k, v] of a.params) assert.ok(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.params.get(k)!.buffer, b.params.get(k)!.byteOffset, v.byteLength)), `${k} differs`);
  assert.deepEqual([...a.buffers.keys()], [...b.buffers.keys()]);
  for (const [k, v] of a.buffers) assert.deepEqual(v, b.buffers.get(k), `${k} differs`);
}

/** Score a saved model with nothing but onnxruntime-node: argmax of its output per row. */
async function plainOrtScore(file: string, ds: Dataset, shape: number[]): Promise<{ errors: number; logits: Float32Array; perClass: number[] }> {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  try {
    assert.deepEqual(s.inputNames, ['input']);
    assert.deepEqual(s.outputNames, ['logits']);
    const x = new ort.Tensor('float32', ds.x, [ds.n, ...shape]);
    const out = (await s.run({ input: x })).logits;
    assert.deepEqual(out.dims, [ds.n, 10]);
    const z = out.data as Float32Array;
    let errors = 0;
    const right = new Array(10).fill(0);
    const count = new Array(10).fill(0);
    for (let i = 0; i < ds.n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (z[i * 10 + k] > z[i * 10 + best]) best = k;
      count[ds.y[i]]++;
      if (best === ds.y[i]) right[ds.y[i]]++;
      else errors++;
    }
    return { errors, logits: z, perClass: count.map((c, k) => (c ? right[k] / c : 0)) };
  } finally {
    await s.release();
  }
}

async function checkModel(net: Network, name: string, test: Dataset, shape: number[], maxErrorRate = 0.5): Promise<void> {
  const bytes = net.toOnnx();
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);

  // The graph's interface: float32 'input' [N, ...natural shape] → 'logits' [N, C]; weights are initialisers.
  const g = fromOnnxBytes(bytes);
  assert.deepEqual(g.inputs.map((v) => [v.name, v.dtype, v.shape]), [['input', 'float32', ['N', ...shape]]]);
  assert.deepEqual(g.outputs.map((v) => [v.name, v.dtype, v.shape]), [['logits', 'float32', ['N', 10]]]);
  for (const k of net.params.keys()) assert.ok(g.initializers.has(k), `${k} is not an initialiser`);

  // Loads back with bitwise the same weights, and saves to the same bytes again.
  const back = Network.fromOnnx(bytes, file);
  assert.deepEqual(back.spec, net.spec);
  paramsEqual(net, back);
  assert.ok(Buffer.from(back.toOnnx()).equals(Buffer.from(bytes)), 'reloaded model saves to different bytes');

  // Plain onnxruntime-node scores it the same as our evaluation.
  const ours = await evaluateNetwork(net, test, RT);
  const plain = await plainOrtScore(file, test, shape);
  assert.equal(plain.errors, ours.errors);
  assert.deepEqual(plain.perClass, ours.perClass);
  const logits = await networkLogits(net, test, RT);
  let maxDiff = 0;
  for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - plain.logits[i]));
  assert.ok(maxDiff <= 1e-5, `logits differ by ${maxDiff}`);
  assert.ok(ours.errors < maxErrorRate * test.n, `model barely trained: ${ours.errors}/${test.n} errors`);
}

describe('save and load', () => {
  it('an MLP: byte-identical saves, bitwise reload, same score under plain onnxruntime-node ([N,784])', async () => {
    const net = await trained('mlp:64', [784], 2000);
    const a = Buffer.from(net.toOnnx());
    await new Promise((r) => setTimeout(r, 1100)); // a timestamp in the file would now differ
    assert.ok(a.equals(Buffer.from(net.toOnnx())), 'saving twice gave different bytes');
    assert.ok(a.equals(Buffer.from(net.clone().toOnnx())), 'a clone saves to different bytes');
    const copy = new Network(JSON.parse(JSON.stringify(net.spec)), new Map([...net.params].map(([k, v]) => [k, v.slice()])), new Map());
    assert.ok(a.equals(Buffer.from(copy.toOnnx())), 'a network rebuilt from the same weights saves to different bytes');
    // An independent training run with the same seed ends in the same file.
    const again = await trained('mlp:64', [784], 2000);
    assert.ok(a.equals(Buffer.from(again.toOnnx())), 'same seed, different file');
    // Different weights, different file.
    const other = await trained('mlp:64', [784], 2000, {}, 2);
    assert.ok(!a.equals(Buffer.from(other.toOnnx())));
    await checkModel(net, 'mlp', mnist.test, [784]);
  });

  it('a CNN ([N,1,28,28] input) likewise', async () => {
    const net = await trained('cnn:4:16', [1, 28, 28], 2000);
    assert.ok(Buffer.from(net.toOnnx()).equals(Buffer.from(net.clone().toOnnx())));
    await checkModel(net, 'cnn', pick(mnist.test, 2000, 3), [1, 28, 28]);
  });

  it('a model with BatchNorm and dropout keeps its running statistics; dropout is gone from the saved graph', async () => {
    const net = await trained('mlp:32', [784], 1000, { batchNorm: true, dropout: 0.3 });
    const mean = net.buffers.get('fc1.bn.running_mean')!;
    assert.ok(mean.some((v) => v !== 0), 'running mean was never updated');
    const g = fromOnnxBytes(net.toOnnx());
    assert.equal(g.inputs.length, 1, 'the saved graph has inputs besides the image');
    assert.ok(!g.nodes.some((n) => n.op === 'Dropout'));
    await checkModel(net, 'bn', pick(mnist.test, 2000, 4), [784]);
  });

  for (const spec of ['resnet:4,8', 'mobilenet:4,8,16']) {
    it(`${spec} (BatchNorm in training, running statistics in the saved inference graph) likewise`, async () => {
      const net = await trained(spec, [1, 28, 28], 2000, {}, 1, { lr: 0.01, epochs: 2, optim: { ...DEFAULT_OPTIM, kind: 'adam' } });
      const stats = [...net.buffers].filter(([k]) => k.endsWith('running_mean'));
      assert.ok(stats.length > 0 && stats.every(([, v]) => v.some((x) => x !== 0)), 'a running mean was never updated');
      const g = fromOnnxBytes(net.toOnnx());
      // inference form: one output per BatchNormalization, no training_mode
      const bns = g.nodes.filter((n) => n.op === 'BatchNormalization');
      assert.equal(bns.length, stats.length);
      assert.ok(bns.every((n) => n.outputs.length === 1 && n.attrs.training_mode === undefined));
      // Tiny nets learn slowly: 80% errors is still well below chance (90%) after 80 steps.
      await checkModel(net, spec.split(':')[0], pick(mnist.test, 1000, 5), [1, 28, 28], 0.8);
    });
  }

  it('fromOnnx rejects bytes that are not ONNX, and ONNX that is not ours, with a UsageError naming the source', () => {
    assert.throws(
      () => Network.fromOnnx(new TextEncoder().encode('this is not a model at all\n'), 'garbage.onnx'),
      (e: unknown) => e instanceof UsageError && e.message.startsWith('garbage.onnx:'),
    );
    const g = new GraphBuilder('foreign');
    const x = g.input('x', 'float32', ['N', 3]);
    g.output(g.op('Relu', [x]), 'y');
    assert.throws(
      () => Network.fromOnnx(toOnnxBytes(g.build()), 'foreign.onnx'),
      (e: unknown) => e instanceof UsageError && /foreign\.onnx: not a dark-knowledge model/.test(e.message),
    );
  });
});
