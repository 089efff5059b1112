/**
 * `dk` on image folders written in the test from MNIST: train → eval --json names the classes
 * (also kept in the model's ONNX metadata); the second command reads the decoded-image cache
 * (the log says so); 3-channel 32×32 and 64×64 images train MLP and CNN students; distillation
 * on an unlabeled transfer set (`--transfer DIR`) needs --alpha 1.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openData } from '../../src/data/load.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { Network } from '../../src/train/network.js';
import { encodeImage, mnistBytes, writeImageTree } from '../data/image-helpers.js';
import { dk, tempDir, writeMnistSubset } from './helpers.js';

const { dir: root, cleanup } = tempDir('dk-cli-images-');
after(cleanup);

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const SORTED = [...WORDS].sort(); // eight, five, four, nine, one, seven, six, three, two, zero
const tree = join(root, 'digits');
const rgb = join(root, 'rgb');
const flat = join(root, 'unlabeled');
const other = join(root, 'other-digits');

interface EvalJson {
  errors: number;
  total: number;
  perClass: number[];
  classNames?: string[];
}

const ok = (r: { status: number | null; stderr: string; stdout: string }, what: string) => assert.equal(r.status, 0, `${what} failed:\n${r.stderr}${r.stdout}`);

describe('dk on image folders', () => {
  before(async () => {
    const m = loadBuiltinMnist();
    await writeImageTree(tree, m.train, m.test, 300, 100, { names: (k) => WORDS[k], format: (k) => (k % 3 === 0 ? 'jpeg' : 'png') });
    await writeImageTree(rgb, m.train, m.test, 200, 60, { channels: 3, tint: [1, 0.6, 0.3] });
    const later = subset(m.train, Array.from({ length: 300 }, (_, i) => 2000 + i));
    await writeImageTree(other, later, m.test, 300, 10, { names: (k) => WORDS[k] });
    mkdirSync(flat);
    for (let i = 0; i < 200; i++) writeFileSync(join(flat, `img${i}.png`), await encodeImage(mnistBytes(m.train, 5000 + i), 1, 28, 28, 'png'));
  });

  it('train → eval --json names the classes (sorted folder names, kept in the model); the second run reads the cache', () => {
    const cwd = join(root, 'run1');
    mkdirSync(cwd);
    const t = dk(['train', '--model', 'mlp:32', '--data', tree, '--epochs', '1', '--batch', '16', '--threads', '1', '--out', 'm.onnx'], cwd);
    ok(t, 'train');
    assert.match(t.stderr, /decoding 400 files/);
    assert.match(t.stdout, /test errors \d+\/100/);
    const cached = readdirSync(join(cwd, '.dk-cache'));
    assert.equal(cached.filter((f) => f.endsWith('.dki')).length, 1, `cache: ${cached}`);

    const net = Network.fromOnnx(readFileSync(join(cwd, 'm.onnx')));
    assert.deepEqual(net.classNames, SORTED);

    const e = dk(['eval', '--model', 'm.onnx', '--data', tree, '--json', '--threads', '1'], cwd);
    ok(e, 'eval');
    assert.match(e.stderr, /read 400 decoded images \[1,28,28\] from cache/);
    assert.doesNotMatch(e.stderr, /decoding/);
    const r = JSON.parse(e.stdout) as EvalJson;
    assert.deepEqual(r.classNames, SORTED);
    assert.equal(r.perClass.length, 10);
    assert.equal(r.total, 100);
    assert.ok(r.errors < 60, `errors ${r.errors}/100 after one epoch`);

    const text = dk(['eval', '--model', 'm.onnx', '--data', tree, '--threads', '1'], cwd);
    ok(text, 'eval (text)');
    assert.match(text.stdout, /per class: eight:\d+\.\d% five:\d+\.\d% .* zero:\d+\.\d%/);

    // dk bias takes the same --data.
    const b = dk(['bias', '--model', 'm.onnx', '--data', tree, '--classes', '3', '--holdout', '50', '--json', '--threads', '1'], cwd);
    ok(b, 'bias');
    assert.equal((JSON.parse(b.stdout) as { holdout: { n: number } }).holdout.n, 50);

    // dk specialists too; a specialist is named after its group's classes and the dustbin.
    const sp = dk(['specialists', '--generalist', 'm.onnx', '--data', tree, '--groups', '3', '--runs', '1', '--epochs', '1', '--workers', '1', '--threads', '1', '--quiet', '--out', 'specs'], cwd);
    ok(sp, 'specialists');
    const manifest = JSON.parse(readFileSync(join(cwd, 'specs', 'manifest.json'), 'utf8')) as { specialists: { file: string; group: number[] }[] };
    for (const s of manifest.specialists) {
      assert.deepEqual(Network.fromOnnx(readFileSync(join(cwd, 'specs', s.file))).classNames, [...s.group.map((c) => SORTED[c]), 'dustbin']);
    }
  });

  it('3-channel images at 32×32 (MLP) and 64×64 (CNN) via --image-size train and evaluate', () => {
    const cwd = join(root, 'run2');
    mkdirSync(cwd);
    for (const [model, size] of [
      ['mlp:32', '32x32'],
      ['cnn:4:16', '64x64'],
    ] as const) {
      const out = `${model.replace(/[:,]/g, '_')}.onnx`;
      const t = dk(['train', '--model', model, '--data', rgb, '--image-size', size, '--epochs', '1', '--batch', '16', '--threads', '1', '--out', out], cwd);
      ok(t, `train ${model} ${size}`);
      const [h, w] = size.split('x').map(Number);
      assert.match(t.stderr, new RegExp(`decoded 260 images \\[3,${h},${w}\\]`));
      const net = Network.fromOnnx(readFileSync(join(cwd, out)));
      assert.deepEqual(net.spec.inputShape, model.startsWith('cnn') ? [3, h, w] : [3 * h * w]);
      const e = dk(['eval', '--model', out, '--data', rgb, '--image-size', size, '--json', '--threads', '1'], cwd);
      ok(e, `eval ${model}`);
      const r = JSON.parse(e.stdout) as EvalJson;
      assert.equal(r.total, 60);
      assert.ok(r.errors < 54, `${model} ${size}: ${r.errors}/60 errors: no better than chance`);
      // The wrong size is refused, naming the model and both shapes.
      const bad = dk(['eval', '--model', out, '--data', rgb, '--json', '--threads', '1'], cwd);
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(bad.stderr, /takes examples of shape/);
    }
  });

  it('--layout nhwc saves a model taking channels-last [N,H,W,C]: plain onnxruntime gives the NCHW model\'s logits on the transposed images', async () => {
    const cwd = join(root, 'run4');
    mkdirSync(cwd);
    const test = (await openData(rgb, { size: [32, 32], cacheDir: join(cwd, '.dk-cache') })).test;
    const [C, H, W] = test.shape;
    const nhwc = new Float32Array(test.x.length);
    for (let i = 0; i < test.n; i++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) nhwc[((i * H + y) * W + x) * C + c] = test.x[((i * C + c) * H + y) * W + x];
    const run = async (file: string, data: Float32Array, dims: number[]) => {
      const sess = await ort.InferenceSession.create(join(cwd, file), { intraOpNumThreads: 1 });
      assert.deepEqual(sess.inputNames, ['input']);
      return (await sess.run({ input: new ort.Tensor('float32', data, dims) })).logits.data as Float32Array;
    };
    for (const model of ['mlp:16', 'cnn:4:8']) {
      const common = ['train', '--model', model, '--data', rgb, '--image-size', '32x32', '--epochs', '1', '--batch', '16', '--threads', '1', '--quiet'];
      ok(dk([...common, '--out', 'a.onnx', '--force'], cwd), `${model} nchw`);
      ok(dk([...common, '--layout', 'nhwc', '--out', 'b.onnx', '--force'], cwd), `${model} nhwc`);
      const a = await run('a.onnx', test.x, [test.n, ...(model.startsWith('cnn') ? [C, H, W] : [C * H * W])]);
      const b = await run('b.onnx', nhwc, [test.n, H, W, C]);
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      assert.ok(maxDiff < 1e-5, `${model}: max |Δlogit| = ${maxDiff}`);
      // Reloaded (dk eval), the nhwc model scores as the nchw one and keeps its layout.
      const ea = JSON.parse(dk(['eval', '--model', 'a.onnx', '--data', rgb, '--image-size', '32x32', '--json', '--threads', '1'], cwd).stdout) as EvalJson;
      const eb = JSON.parse(dk(['eval', '--model', 'b.onnx', '--data', rgb, '--image-size', '32x32', '--json', '--threads', '1'], cwd).stdout) as EvalJson;
      assert.equal(eb.errors, ea.errors);
      assert.deepEqual(Network.fromOnnx(readFileSync(join(cwd, 'b.onnx'))).exportLayout, { layout: 'nhwc', image: [3, 32, 32] });
    }
    // A CNN student distilled from the (CNN) model on the same RGB 32×32 images, saved channels-last.
    const d = dk(['distill', '--teacher', 'a.onnx', '--student', 'cnn:4:8', '--data', rgb, '--image-size', '32x32', '--epochs', '1', '--batch', '16', '--threads', '1', '--quiet', '--layout', 'nhwc', '--out', 'd.onnx'], cwd);
    ok(d, 'distill a CNN student on RGB images');
    assert.match(d.stdout, /test errors \d+\/60/);
    const sd = Network.fromOnnx(readFileSync(join(cwd, 'd.onnx')));
    assert.deepEqual([sd.spec.inputShape, sd.exportLayout?.layout, sd.classNames], [[3, 32, 32], 'nhwc', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']]);
    const flatData = dk(['train', '--model', 'mlp:4', '--data', rgb, '--image-size', '32x32', '--epochs', '1', '--layout', 'nhwx', '--out', 'c.onnx'], cwd);
    assert.equal(flatData.status, 2);
    assert.match(flatData.stderr, /--layout/);
  });

  it('distill on an unlabeled transfer set: refused with α < 1 (no labels for the hard term), done with --alpha 1', () => {
    const cwd = join(root, 'run3');
    mkdirSync(cwd);
    ok(dk(['train', '--model', 'mlp:64', '--data', tree, '--epochs', '3', '--batch', '16', '--threads', '1', '--quiet', '--out', 'teacher.onnx'], cwd), 'teacher');
    const base = ['distill', '--teacher', 'teacher.onnx', '--student', 'mlp:16', '--data', tree, '--transfer', flat, '--epochs', '2', '--batch', '16', '--threads', '1', '--quiet', '--out', 's.onnx'];
    const refused = dk(base, cwd);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /^dk: --alpha 0\.9: the transfer set .*unlabeled has no labels, so the hard-label term .* use --alpha 1/m);
    assert.ok(!existsSync(join(cwd, 's.onnx')));
    const r = dk([...base, '--alpha', '1'], cwd);
    ok(r, 'distill --alpha 1');
    assert.match(r.stderr, /transfer set: transfer set .*unlabeled \(unlabeled\): 200 examples, labels unused/);
    const m = /test errors (\d+)\/100.*; teacher test errors (\d+)\/100/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) < 60, `student ${m[1]}/100 errors (teacher ${m[2]}/100)`);
    assert.deepEqual(Network.fromOnnx(readFileSync(join(cwd, 's.onnx'))).classNames, SORTED);

    // A labelled transfer set: another tree with the same classes (α < 1 is fine there).
    const l = dk(['distill', '--teacher', 'teacher.onnx', '--student', 'mlp:16', '--data', tree, '--transfer', other, '--epochs', '1', '--batch', '16', '--threads', '1', '--quiet', '--out', 's2.onnx'], cwd);
    ok(l, 'distill --transfer (labelled)');
    assert.match(l.stderr, /transfer set: transfer set .*other-digits: 300 examples\n/);
    // IDX-style labels (numbers) do not line up with named classes: refused.
    const idx = join(root, 'idx');
    writeMnistSubset(idx, 50, 10);
    const bad = dk([...base.slice(0, -2), '--transfer', idx, '--out', 's3.onnx'], cwd);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /dk: --transfer .*idx: has unnamed classes \(label numbers\), but the data has classes eight, five/);
  });
});
