/** Shared fixtures for the distillation tests: a small MNIST sample, quickly trained teachers, foreign ONNX teachers. */
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { stratifiedFraction, subset } from '../../src/data/subset.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { tensor } from '../../src/graph/ir.js';
import { toOnnxBytes } from '../../src/graph/onnx.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, trainNetwork } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';

export const RT = { threads: 1 };

/** Strip `ids`: a sample that behaves like a dataset as loaded (row i = example id i). */
function asLoaded(ds: Dataset, source: string): Dataset {
  return { x: ds.x, y: ds.y, n: ds.n, shape: ds.shape, classes: ds.classes, source };
}

let cached: { full: { train: Dataset; test: Dataset }; train: Dataset; test: Dataset } | null = null;

/** The built-in MNIST plus stratified samples of `nTrain` training and `nTest` test examples (as loaded). */
export function mnistSample(nTrain = 600, nTest = 300): { full: { train: Dataset; test: Dataset }; train: Dataset; test: Dataset } {
  if (cached && cached.train.n === nTrain && cached.test.n === nTest) return cached;
  const full = loadBuiltinMnist();
  const train = asLoaded(subset(full.train, stratifiedFraction(full.train, nTrain / full.train.n, new Rng(7))), 'mnist-sample:train');
  const test = asLoaded(subset(full.test, stratifiedFraction(full.test, nTest / full.test.n, new Rng(8))), 'mnist-sample:test');
  cached = { full, train, test };
  return cached;
}

/** A softmax-regression teacher trained for a few epochs on `train` (our format: logits output). */
export async function trainLinearTeacher(train: Dataset, epochs = 3): Promise<Network> {
  const net = Network.create({ spec: 'linear', inputShape: [784], classes: 10, options: {} }, 3);
  await trainNetwork(net, train, { ...DEFAULT_TRAIN, epochs, batch: 32, lr: 0.1, seed: 3 }, { runtime: RT });
  return net;
}

/**
 * A "foreign" ONNX classifier (no dark-knowledge metadata, like a torch.onnx.export): input 'x'
 * [B,1,H,W] → Flatten → Gemm(W, b) → Softmax (or raw logits) → output 'probs'.
 * W is [H·W, K]; `batch` fixes the batch dimension (default symbolic).
 */
export function foreignClassifier(W: Float32Array, b: Float32Array, o: { hw?: [number, number]; softmax?: boolean; batch?: number | string } = {}): Uint8Array {
  const [H, Wd] = o.hw ?? [28, 28];
  const D = H * Wd;
  const K = b.length;
  if (W.length !== D * K) throw new RangeError(`foreignClassifier: W has ${W.length} values, expected ${D}×${K}`);
  const g = new GraphBuilder('torch_jit');
  const x = g.input('x', 'float32', [o.batch ?? 'batch_size', 1, H, Wd]);
  const flat = g.op('Flatten', [x], { axis: 1 });
  const z = g.op('Gemm', [flat, g.initializer('fc.weight', tensor('float32', [D, K], W)), g.initializer('fc.bias', tensor('float32', [K], b))]);
  g.output(o.softmax === false ? z : g.op('Softmax', [z], { axis: 1 }), 'probs');
  return toOnnxBytes(g.build());
}

/** The foreign version of a trained linear network (same weights, 4-D input, softmax output). */
export function foreignFromLinear(net: Network, softmax = true, batch?: number): Uint8Array {
  return foreignClassifier(net.params.get('out.weight')!, net.params.get('out.bias')!, { softmax, batch });
}

/** Seeded normal values. */
export function randn(n: number, rng: Rng, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

/** The error measure of the reference tests (test/helpers/grads.ts). */
export { relErr } from '../helpers/grads.js';
