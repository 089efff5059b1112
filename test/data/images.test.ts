/**
 * Image-folder datasets: trees written in the test from MNIST load to the same tensors as the
 * IDX files (exactly for PNG, closely for JPEG), grey and RGB; the decoded-tensor cache is used
 * on the second load and invalidated by a changed file; sizes, channels and resizing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { listImageTree } from '../../src/data/images.js';
import { loadData, openData, openTransfer } from '../../src/data/load.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { writeMnistSubset } from '../cli/helpers.js';
import { tempDir } from './helpers.js';
import { encodeImage, mnistBytes, writeImageTree } from './image-helpers.js';

const N_TRAIN = 300;
const N_TEST = 100;
const { dir: root, cleanup } = tempDir('dk-images-');
after(cleanup);
const idxDir = join(root, 'idx');
const cache = join(root, 'cache');

/** The IDX split's rows in the tree's order: by class (digit), then by index. */
function byClass(ds: Dataset): Dataset {
  const order = Array.from({ length: ds.n }, (_, i) => i).sort((a, b) => ds.y[a] - ds.y[b] || a - b);
  const d = ds.x.length / ds.n;
  const x = new Float32Array(ds.x.length);
  order.forEach((r, i) => x.set(ds.x.subarray(r * d, (r + 1) * d), i * d));
  return { ...ds, x, y: Int32Array.from(order, (r) => ds.y[r]) };
}

/** Channel k of every example of a [C,H,W] dataset, as a flat array of n·H·W. */
function channel(ds: Dataset, k: number): Float32Array {
  const [C, H, W] = ds.shape;
  const plane = H * W;
  const out = new Float32Array(ds.n * plane);
  for (let i = 0; i < ds.n; i++) out.set(ds.x.subarray(i * C * plane + k * plane, i * C * plane + (k + 1) * plane), i * plane);
  return out;
}

function logs(): { sink: (e: ProgressEvent) => void; lines: string[]; bars: string[] } {
  const lines: string[] = [];
  const bars: string[] = [];
  return {
    lines,
    bars,
    sink: (e) => {
      if (e.kind === 'log') lines.push(e.text);
      if (e.kind === 'start') bars.push(e.label);
    },
  };
}

describe('image-folder datasets', () => {
  let idx: { train: Dataset; test: Dataset };
  before(async () => {
    writeMnistSubset(idxDir, N_TRAIN, N_TEST);
    const split = loadData(idxDir);
    idx = { train: byClass(split.train), test: byClass(split.test) };
    const m = loadBuiltinMnist();
    await writeImageTree(join(root, 'grey'), m.train, m.test, N_TRAIN, N_TEST);
    await writeImageTree(join(root, 'rgb'), m.train, m.test, N_TRAIN, N_TEST, { channels: 3 });
    await writeImageTree(join(root, 'tinted'), m.train, m.test, N_TRAIN, N_TEST, { channels: 3, tint: [1, 0.5, 0.25] });
    await writeImageTree(join(root, 'mixed'), m.train, m.test, N_TRAIN, N_TEST, { format: (k) => (k >= 7 ? 'jpeg' : k === 6 ? 'webp' : 'png') }, 'val');
  });

  it('a grey PNG tree loads to exactly the IDX tensors (classes from the folder names, sorted)', async () => {
    const s = await openData(join(root, 'grey'), { cacheDir: null });
    assert.deepEqual(s.train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual(s.train.shape, [1, 28, 28]);
    assert.equal(s.train.classes, 10);
    for (const part of ['train', 'test'] as const) {
      assert.equal(s[part].n, idx[part].n);
      assert.deepEqual(s[part].y, idx[part].y);
      assert.ok(Buffer.from(s[part].x.buffer).equals(Buffer.from(idx[part].x.buffer)), `${part}: pixels differ`);
    }
  });

  it('an RGB PNG tree (grey replicated) loads as 3 channels, each exactly the IDX pixels; with channels 1 as the IDX tensors', async () => {
    const s3 = await openData(join(root, 'rgb'), { cacheDir: null });
    assert.deepEqual(s3.train.shape, [3, 28, 28]);
    for (let k = 0; k < 3; k++) assert.deepEqual(channel(s3.test, k), idx.test.x, `channel ${k}`);
    const s1 = await openData(join(root, 'rgb'), { cacheDir: null, channels: 1 });
    assert.deepEqual(s1.train.shape, [1, 28, 28]);
    assert.deepEqual(s1.train.x, idx.train.x);
    // A grey tree asked for 3 channels replicates them.
    const g3 = await openData(join(root, 'grey'), { cacheDir: null, channels: 3 });
    assert.deepEqual(channel(g3.test, 2), idx.test.x);
  });

  it('RGB channels stay apart and in R, G, B order (NCHW)', async () => {
    const s = await openData(join(root, 'tinted'), { cacheDir: null });
    const m = loadBuiltinMnist();
    // Example 0 of the tree's test split is the first test example of the lowest class.
    const first = Array.from({ length: N_TEST }, (_, i) => i).find((i) => m.test.y[i] === 0)!;
    const g = mnistBytes(m.test, first);
    for (const [k, t] of [1, 0.5, 0.25].entries()) {
      const want = Float32Array.from(g, (v) => Math.round(v * t) / 255);
      assert.deepEqual(s.test.x.subarray(k * 784, (k + 1) * 784), want, `channel ${k}`);
    }
  });

  it('PNG, WebP (lossless) and JPEG classes in one tree, val/ as the test split: PNG and WebP exact, JPEG close', async () => {
    // WebP has no grey mode (the grey images are stored as RGB), so the default is 3 channels.
    assert.deepEqual((await openData(join(root, 'mixed'), { cacheDir: null })).train.shape, [3, 28, 28]);
    const s = await openData(join(root, 'mixed'), { cacheDir: null, channels: 1 });
    assert.match(s.test.source, /:val$/);
    assert.deepEqual(s.test.y, idx.test.y);
    let maxLossless = 0;
    let jpegSum = 0;
    let jpegN = 0;
    for (let i = 0; i < s.test.x.length; i++) {
      const d = Math.abs(s.test.x[i] - idx.test.x[i]);
      if (s.test.y[Math.floor(i / 784)] >= 7) {
        jpegSum += d;
        jpegN++;
      } else maxLossless = Math.max(maxLossless, d);
    }
    assert.equal(maxLossless, 0);
    const meanJpeg = jpegSum / jpegN;
    assert.ok(meanJpeg > 0 && meanJpeg < 0.01, `JPEG mean |Δ| = ${meanJpeg}`);
    console.log(`# JPEG (quality 95) classes: mean |Δ| = ${meanJpeg.toFixed(5)} against the IDX pixels`);
  });

  it('the decoded tensors are cached: the second load reads the cache (and says so); a changed file invalidates it', async () => {
    const dir = join(root, 'grey');
    const a = logs();
    const first = await openData(dir, { cacheDir: cache, progress: a.sink });
    assert.ok(a.lines.some((l) => /decoding 400 files/.test(l)), a.lines.join('\n'));
    assert.ok(a.bars.some((l) => /decoding/.test(l)), `no progress bar: ${a.bars}`);
    assert.equal(readdirSync(cache).filter((f) => f.endsWith('.dki')).length, 1);
    const b = logs();
    const t0 = performance.now();
    const second = await openData(dir, { cacheDir: cache, progress: b.sink });
    const ms = performance.now() - t0;
    assert.ok(b.lines.some((l) => /from cache/.test(l)), b.lines.join('\n'));
    assert.ok(!b.bars.some((l) => /decoding/.test(l)), 'decoded again');
    assert.deepEqual(second.train.x, first.train.x);
    assert.deepEqual(second.test.y, first.test.y);
    console.log(`# cache hit: ${ms.toFixed(0)} ms for ${N_TRAIN + N_TEST} images`);

    // Other options are another key: decoded again, at their shape.
    const e = logs();
    const rgb = await openData(dir, { cacheDir: cache, channels: 3, progress: e.sink });
    assert.ok(e.lines.some((l) => /decoding 400 files/.test(l)), e.lines.join('\n'));
    assert.deepEqual(rgb.train.shape, [3, 28, 28]);
    assert.equal(readdirSync(cache).filter((f) => f.endsWith('.dki')).length, 2);

    // Rewrite one test image with other pixels: the key changes, the tree is decoded again.
    const tree = listImageTree(dir);
    const f = tree.test[0];
    writeFileSync(f.path, await encodeImage(new Uint8Array(784).fill(255), 1, 28, 28, 'png'));
    const c = logs();
    const third = await openData(dir, { cacheDir: cache, progress: c.sink });
    assert.ok(c.lines.some((l) => /decoding 400 files/.test(l)) && !c.lines.some((l) => /from cache/.test(l)), c.lines.join('\n'));
    assert.ok(third.test.x.subarray(0, 784).every((v) => v === 1));
    assert.deepEqual(third.test.x.subarray(784), first.test.x.subarray(784));
    // A corrupt cache file is not trusted.
    const files = readdirSync(cache).filter((n) => n.endsWith('.dki'));
    for (const n of files) writeFileSync(join(cache, n), 'garbage');
    const d = logs();
    const fourth = await openData(dir, { cacheDir: cache, progress: d.sink });
    assert.ok(d.lines.some((l) => /unusable/.test(l)), d.lines.join('\n'));
    assert.deepEqual(fourth.test.x, third.test.x);
  });

  it('--image-size resizes (here 28x28 → 32x32 and 64x64, RGB); sizes must otherwise agree', async () => {
    const s = await openData(join(root, 'rgb'), { cacheDir: null, size: [32, 32] });
    assert.deepEqual(s.train.shape, [3, 32, 32]);
    assert.equal(s.train.x.length, N_TRAIN * 3 * 32 * 32);
    const t = await openData(join(root, 'grey'), { cacheDir: null, size: [64, 48] });
    assert.deepEqual(t.test.shape, [1, 64, 48]);
    // Resizing keeps the image: its mean brightness stays close.
    const mean = (a: Float32Array) => a.reduce((p, v) => p + v, 0) / a.length;
    assert.ok(Math.abs(mean(t.test.x) - mean(idx.test.x)) < 0.01);
  });

  it('a flat folder of images is an unlabeled transfer set shaped like the data; a dataset directory gives its labelled training split', async () => {
    const flat = join(root, 'flat');
    const m = loadBuiltinMnist();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(flat);
    for (let i = 0; i < 20; i++) writeFileSync(join(flat, `u${i}.png`), await encodeImage(mnistBytes(m.train, 1000 + i), 1, 28, 28, 'png'));
    const grey = await openData(join(root, 'grey'), { cacheDir: null });
    const u = await openTransfer(flat, grey.train, { cacheDir: null });
    assert.equal(u.labeled, false);
    assert.equal(u.data.n, 20);
    assert.deepEqual(u.data.shape, [1, 28, 28]);
    assert.deepEqual(u.data.classNames, grey.train.classNames);
    // RGB data: the same grey files become 3 channels.
    const rgb = await openData(join(root, 'rgb'), { cacheDir: null });
    const u3 = await openTransfer(flat, rgb.train, { cacheDir: null });
    assert.deepEqual(u3.data.shape, [3, 28, 28]);
    const l = await openTransfer(join(root, 'mixed'), grey.train, { cacheDir: null, channels: 1 });
    assert.equal(l.labeled, true);
    assert.equal(l.data.n, N_TRAIN);
    assert.deepEqual(l.data.y, idx.train.y);
    // IDX labels are bare numbers: they are not trusted to line up with named classes.
    await assert.rejects(openTransfer(idxDir, grey.train, { cacheDir: null }), /unnamed classes \(label numbers\), but the data has classes 0, 1, 2/);
    // The IDX data with a labelled IDX transfer set is fine.
    assert.equal((await openTransfer(idxDir, loadData(idxDir).train)).labeled, true);
    assert.ok(!existsSync(join(root, '.dk-cache')));
  });
});
