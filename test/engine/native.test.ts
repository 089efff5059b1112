/**
 * The native kernels' sessions (runtime/native.ts, native/src): loaded where built (and required
 * to be under DK_NATIVE=1, as CI sets it), their custom ops' errors, outputs written in place,
 * the training graphs that take them and the fallback without them, and the ABI declarations
 * (native/ort_abi.h) against the libonnxruntime onnxruntime-node ships. The ops' gradients are
 * checked against finite differences in test/autodiff/rules.test.ts and against onnxruntime's
 * formulations on whole networks in test/autodiff/grad-forms.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type Graph, type TensorData, tensor } from '../../src/graph/ir.js';
import { NATIVE_DOMAIN, lowerToNative, usesNativeOps } from '../../src/graph/native-ops.js';
import { type RuntimeOptions, Runner, nativeGradForms, nativeSessions, nativeUnavailable, setNativeSessions } from '../../src/runtime/session.js';
import { buildStepGraph } from '../../src/train/step.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN } from '../../src/train/config.js';
import { Rng } from '../../src/util/rng.js';
import { backward } from '../../src/autodiff/index.js';
import { relErr } from '../helpers/grads.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const haveNative = nativeSessions() !== null;

/** A graph of one ConvGradX: dX of a 3×3, pad-1 conv of X [N, 2, 5, 5] with W [3, 2, 3, 3]. */
function convGradX(wDims = [3, 2, 3, 3]) {
  const g = new GraphBuilder('native_conv_grad_x');
  const G = g.input('G', 'float32', ['N', 3, 5, 5]);
  const W = g.input('W', 'float32', wDims);
  const X = g.input('X', 'float32', ['N', 2, 5, 5]);
  g.output(g.op('ConvGradX', [G, W, X], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, { domain: NATIVE_DOMAIN, out: [{ dtype: 'float32', shape: ['N', 2, 5, 5] }], names: ['dX'] }));
  return g.build();
}
/** Compile `graph` with `rt`, run it once on `feeds`, release the session. */
async function runOnce(graph: Graph, rt: RuntimeOptions, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const r = await Runner.create(graph, rt);
  try {
    return await r.run(feeds);
  } finally {
    await r.release();
  }
}
const filled = (dims: number[], seed: number) => {
  const r = new Rng(seed);
  return tensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.normal()));
};

describe('native kernels', () => {
  it('are loaded where built, and must be under DK_NATIVE=1', () => {
    if (process.env.DK_NATIVE === '1') assert.ok(haveNative, `DK_NATIVE=1 but the native kernels are not loaded: ${nativeUnavailable}`);
    if (haveNative) {
      assert.match(nativeSessions()!.description, /^oneDNN \d+\.\d+\.\d+ in onnxruntime \d+\.\d+\.\d+$/);
      assert.deepEqual(nativeGradForms(), { convWeightGrad: 'native', convInputGrad: 'native', maxPoolGrad: 'native', batchNormGrad: 'native', maskGrad: 'native', globalPoolGrad: 'native' });
    } else {
      assert.ok(nativeUnavailable.length > 0);
      assert.deepEqual(nativeGradForms(), {});
    }
  });

  it('a conv net\'s step graph uses them where loaded, and none without them (DK_NATIVE=0)', async () => {
    const net = Network.create({ spec: 'cnn:4,8:16', inputShape: [1, 12, 12], classes: 10, options: {} }, 3);
    assert.equal(usesNativeOps(buildStepGraph(net, 'hard', DEFAULT_TRAIN.optim).graph), haveNative);
    // a fresh process with DK_NATIVE=0: onnxruntime's formulations, and a step that runs
    const script = `
      import { nativeSessions } from ${JSON.stringify(join(root, 'dist/src/runtime/session.js'))};
      import { buildStepGraph } from ${JSON.stringify(join(root, 'dist/src/train/step.js'))};
      import { Network } from ${JSON.stringify(join(root, 'dist/src/train/network.js'))};
      import { DEFAULT_TRAIN } from ${JSON.stringify(join(root, 'dist/src/train/config.js'))};
      import { usesNativeOps } from ${JSON.stringify(join(root, 'dist/src/graph/native-ops.js'))};
      const net = Network.create({ spec: 'cnn:4,8:16', inputShape: [1, 12, 12], classes: 10, options: {} }, 3);
      console.log(JSON.stringify({ loaded: nativeSessions() !== null, native: usesNativeOps(buildStepGraph(net, 'hard', DEFAULT_TRAIN.optim).graph) }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DK_NATIVE: '0' }, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { loaded: false, native: false });
  });

  it('a graph with native ops is refused, naming them, where the kernels are not loaded', async () => {
    const saved = nativeSessions();
    setNativeSessions(null);
    try {
      await assert.rejects(Runner.create(convGradX()), /graph 'native_conv_grad_x' uses dark-knowledge's native operators \(ConvGradX\), which this process has not loaded/);
    } finally {
      setNativeSessions(saved);
    }
  });

  it('a kernel given mismatched shapes fails the run with a message naming the op and the shapes', { skip: !haveNative && 'native kernels not built' }, async () => {
    const r = await Runner.create(convGradX([3, 4, 3, 3]));
    try {
      await assert.rejects(r.run({ G: filled([2, 3, 5, 5], 1), W: filled([3, 4, 3, 3], 2), X: filled([2, 2, 5, 5], 3) }), /ConvGradX: the weight \[3, 4, 3, 3\] does not fit the input \[2, 2, 5, 5\]/);
    } finally {
      await r.release();
    }
  });

  it('writes preallocated outputs in place, and returns fresh ones otherwise, equal', { skip: !haveNative && 'native kernels not built' }, async () => {
    const r = await Runner.create(convGradX(), { threads: 1 });
    try {
      assert.deepEqual(r.io.inputs.map((i) => [i.name, i.type, i.shape]), [['G', 'float32', ['N', 3, 5, 5]], ['W', 'float32', [3, 2, 3, 3]], ['X', 'float32', ['N', 2, 5, 5]]]);
      const feeds = { G: filled([2, 3, 5, 5], 1), W: filled([3, 2, 3, 3], 2), X: filled([2, 2, 5, 5], 3) };
      const fresh = (await r.run(feeds)).dX;
      const into = tensor('float32', [2, 2, 5, 5], new Float32Array(100).fill(Number.NaN));
      await r.runInto(feeds, { dX: into });
      assert.deepEqual([...into.data], [...fresh.data]);
      assert.ok((fresh.data as Float32Array).some((v) => v !== 0));
      // the batch size may change from run to run
      const one = await r.run({ G: filled([1, 3, 5, 5], 4), W: feeds.W, X: filled([1, 2, 5, 5], 5) });
      assert.deepEqual(one.dX.dims, [1, 2, 5, 5]);
    } finally {
      await r.release();
    }
  });

  it('BatchNormGrad matches a float64 reference to 1e-5, also where |μ| ≫ σ', { skip: !haveNative && 'native kernels not built' }, async () => {
    for (const [dims, shift] of [
      [[6, 3, 4, 5], 0],
      [[4, 5], 0],
      [[8, 2, 3, 3], 100],
    ] as const) {
      const C = dims[1];
      const grads = async (dtype: 'float32' | 'float64', form: 'native' | 'plain') => {
        const g = new GraphBuilder('bn_grad');
        const X = g.input('X', dtype, [...dims]);
        const s = g.input('scale', dtype, [C]);
        const b = g.input('bias', dtype, [C]);
        const R = g.input('R', dtype, [...dims]);
        const [y] = g.opN('BatchNormalization', [X, s, b, g.input('mean', dtype, [C]), g.input('var', dtype, [C])], 3, { training_mode: 1, epsilon: 1e-5 });
        const gr = backward(g, g.op('ReduceSum', [g.mul(y, R)], { keepdims: 0 }), [X, s, b], { grad: { batchNormGrad: form } });
        for (const k of ['X', 'scale', 'bias']) g.output(g.op('Identity', [gr.get(k)!], {}, { names: [`d${k}`] }));
        const graph = g.build();
        assert.equal(usesNativeOps(graph), form === 'native');
        const r = await Runner.create(graph, { threads: 2 });
        try {
          const rng = new Rng(9);
          const n = dims.reduce((p, q) => p * q, 1);
          const arr = (len: number, f: () => number) => (dtype === 'float32' ? Float32Array.from({ length: len }, f) : Float64Array.from({ length: len }, f));
          const xs = Float32Array.from({ length: n }, () => shift + rng.normal()); // the same float32 values on both sides
          const feeds = {
            X: tensor(dtype, [...dims], dtype === 'float32' ? xs : Float64Array.from(xs)),
            scale: tensor(dtype, [C], arr(C, () => 0.5 + rng.float())),
            bias: tensor(dtype, [C], arr(C, () => rng.normal())),
            mean: tensor(dtype, [C], arr(C, () => 0)),
            var: tensor(dtype, [C], arr(C, () => 1)),
            R: tensor(dtype, [...dims], arr(n, () => rng.normal())),
          };
          return await r.run(feeds);
        } finally {
          await r.release();
        }
      };
      const want = await grads('float64', 'plain');
      const got = await grads('float32', 'native');
      for (const k of ['dX', 'dscale', 'dbias']) {
        const e = relErr(got[k].data as Float32Array, want[k].data as Float64Array);
        assert.ok(e <= 1e-5, `[${dims}] shift ${shift} ${k}: relative difference ${e.toExponential(2)}`);
      }
    }
  });

  it('BatchNormTrain (lowerToNative) gives onnxruntime\'s training-mode outputs: y and both running statistics', { skip: !haveNative && 'native kernels not built' }, async () => {
    for (const [dims, shift, nOut] of [
      [[6, 3, 4, 5], 0, 3],
      [[5, 4], 0, 3],
      [[8, 2, 3, 3], 50, 3],
    ] as const) {
      const C = dims[1];
      const g = new GraphBuilder('bn_train');
      const ins = ['X', 'scale', 'bias', 'mean', 'var'].map((k, i) => g.input(k, 'float32', i === 0 ? [...dims] : [C]));
      const outs = g.opN('BatchNormalization', ins, nOut, { training_mode: 1, epsilon: 1e-3, momentum: 0.8 });
      outs.forEach((v, i) => g.output(g.op('Identity', [v], {}, { names: [['y', 'rm', 'rv'][i]] })));
      const graph = g.build();
      const lowered = lowerToNative(graph);
      assert.ok(usesNativeOps(lowered) && !usesNativeOps(graph), 'lowered, and the input graph left as it was');
      assert.deepEqual(lowered.outputs.map((o) => o.name), graph.outputs.map((o) => o.name));
      const rng = new Rng(21);
      const n = dims.reduce((p, q) => p * q, 1);
      const vec = (len: number, f: () => number) => Float32Array.from({ length: len }, f);
      const feeds = {
        X: tensor('float32', [...dims], vec(n, () => shift + rng.normal())),
        scale: tensor('float32', [C], vec(C, () => 0.5 + rng.float())),
        bias: tensor('float32', [C], vec(C, () => rng.normal())),
        mean: tensor('float32', [C], vec(C, () => rng.normal())),
        var: tensor('float32', [C], vec(C, () => 0.5 + rng.float())),
      };
      const run = (nativeBatchNorm: boolean) => runOnce(graph, { threads: 2, nativeBatchNorm }, feeds);
      const [ort, ours] = [await run(false), await run(true)];
      for (const k of Object.keys(ort)) {
        const e = relErr(ours[k].data as Float32Array, ort[k].data as Float32Array);
        assert.ok(e <= 1e-5, `[${dims}] shift ${shift} ${k}: relative difference ${e.toExponential(2)}`);
      }
    }
  });

  it('BatchNormTrain with the Relu or Clip after it fused in: onnxruntime\'s outputs, one node fewer', { skip: !haveNative && 'native kernels not built' }, async () => {
    for (const act of ['Relu', 'Clip'] as const) {
      const dims = [6, 3, 4, 5];
      const g = new GraphBuilder('bn_act');
      const ins = ['X', 'scale', 'bias', 'mean', 'var'].map((k, i) => g.input(k, 'float32', i === 0 ? dims : [3]));
      const [y, rm, rv] = g.opN('BatchNormalization', ins, 3, { training_mode: 1, epsilon: 1e-5, momentum: 0.9 });
      const z = act === 'Relu' ? g.op('Relu', [y]) : g.op('Clip', [y, g.scalar(0), g.scalar(0.5)]);
      g.output(g.op('Identity', [z], {}, { names: ['z'] }));
      g.output(g.op('Identity', [rm], {}, { names: ['rm'] }));
      g.output(g.op('Identity', [rv], {}, { names: ['rv'] }));
      const graph = g.build();
      const lowered = lowerToNative(graph);
      assert.equal(lowered.nodes.filter((n) => n.op === act).length, 0, `${act} fused`);
      assert.equal(lowered.nodes.length, graph.nodes.length - 1);
      const rng = new Rng(4);
      const vec = (len: number, f: () => number) => Float32Array.from({ length: len }, f);
      const feeds = {
        X: tensor('float32', dims, vec(360, () => rng.normal())),
        scale: tensor('float32', [3], vec(3, () => 0.5 + rng.float())),
        bias: tensor('float32', [3], vec(3, () => rng.normal() * 0.3)),
        mean: tensor('float32', [3], vec(3, () => 0)),
        var: tensor('float32', [3], vec(3, () => 1)),
      };
      const run = (nativeBatchNorm: boolean) => runOnce(graph, { threads: 1, nativeBatchNorm }, feeds);
      const [ort, ours] = [await run(false), await run(true)];
      const zs = ort.z.data as Float32Array;
      assert.ok(zs.some((v) => v === 0) && zs.some((v) => v > 0 && v < 0.5), 'both sides of the activation reached');
      for (const k of ['z', 'rm', 'rv']) {
        const e = relErr(ours[k].data as Float32Array, ort[k].data as Float32Array);
        assert.ok(e <= 1e-5, `${act} ${k}: relative difference ${e.toExponential(2)}`);
      }
    }
  });

  it('the native forward Conv (lowerToNative conv) gives onnxruntime\'s outputs: strided, padded, grouped, depthwise, strided 1×1, with and without bias', { skip: !haveNative && 'native kernels not built' }, async () => {
    const cases: { x: number[]; w: number[]; attrs: Record<string, number | number[]>; bias: boolean }[] = [
      { x: [3, 4, 9, 8], w: [6, 4, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
      { x: [2, 3, 8, 7], w: [5, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 0, 1, 2] }, bias: false },
      { x: [2, 4, 6, 6], w: [6, 2, 2, 3], attrs: { group: 2, pads: [0, 1, 1, 1] }, bias: true },
      { x: [2, 8, 7, 7], w: [8, 1, 3, 3], attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
      { x: [2, 5, 5, 4], w: [7, 5, 1, 1], attrs: { strides: [2, 2] }, bias: false },
    ];
    for (const c of cases) {
      const g = new GraphBuilder('conv_fwd');
      const X = g.input('X', 'float32', ['N', ...c.x.slice(1)]);
      const W = g.input('W', 'float32', c.w);
      const B = c.bias ? g.input('B', 'float32', [c.w[0]]) : null;
      g.output(g.op('Identity', [g.op('Conv', B ? [X, W, B] : [X, W], c.attrs)], {}, { names: ['Y'] }));
      const graph = g.build();
      assert.ok(usesNativeOps(lowerToNative(graph, { conv: true })));
      if (c === cases[0]) {
        // a 1×1 conv at stride 1 stays onnxruntime's (one GEMM there)
        const p = new GraphBuilder('pointwise');
        p.output(p.op('Conv', [p.input('X', 'float32', ['N', 5, 4, 4]), p.input('W', 'float32', [7, 5, 1, 1])]));
        assert.ok(!usesNativeOps(lowerToNative(p.build(), { conv: true })));
      }
      const feeds: Record<string, ReturnType<typeof filled>> = { X: filled(c.x, 1), W: filled(c.w, 2) };
      if (c.bias) feeds.B = filled([c.w[0]], 3);
      const run = async (nativeConv: boolean) => (await runOnce(graph, { threads: 2, nativeConv }, feeds)).Y;
      const [ort, ours] = [await run(false), await run(true)];
      assert.deepEqual(ours.dims, ort.dims);
      const e = relErr(ours.data as Float32Array, ort.data as Float32Array);
      assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative difference ${e.toExponential(2)}`);
    }
  });

  it('native/ort_abi.h against this libonnxruntime: the smoke test builds and passes', { skip: spawnSync('g++', ['--version']).status !== 0 && 'no g++' }, () => {
    const require = createRequire(import.meta.url);
    const lib = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime.so.1');
    assert.ok(existsSync(lib), lib);
    const dir = mkdtempSync(join(tmpdir(), 'dk-abi-'));
    try {
      const exe = join(dir, 'abi_smoke');
      execFileSync('g++', ['-std=c++17', '-O1', join(root, 'native', 'test', 'abi_smoke.cc'), '-ldl', '-o', exe], { stdio: 'pipe' });
      const res = spawnSync(exe, [lib, join(root, 'native', 'test', 'abi_model.onnx')], { cwd: dir, encoding: 'utf8' });
      assert.equal(res.status, 0, `abi_smoke failed:\n${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout, /^OK$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
