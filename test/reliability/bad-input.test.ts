/**
 * The bad-input suite: a table of wrong files, flags and configs fed to `dk` as a child process
 * (killed after a timeout, so a hang fails the case). Each case must:
 *   - exit with code 2 (3 for divergence),
 *   - print a one-line `dk: …` message naming the file or field and what was expected
 *     (commander's own parse errors print `error: …` instead),
 *   - show no stack trace (and one case checks that --debug does show it),
 *   - leave no partial output: the case's working directory holds exactly what it held before
 *     (no output file, no temporary file, no config sidecar, no checkpoint).
 *
 * Unreadable files: the tests run as root, where `chmod 000` does not stop reads, so
 * "unreadable" is a directory where a file is expected (EISDIR) or a path through a regular
 * file (ENOTDIR). A full disk: a real 64 KiB tmpfs when `mount -t tmpfs` works here, and
 * always the injected write error (a full disk simulated by the test's preload, ./full-disk.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { tensor } from '../../src/graph/ir.js';
import { toOnnxBytes } from '../../src/graph/onnx.js';
import { Network, SPEC_KEY } from '../../src/train/network.js';
import { encodeIdx } from '../../src/data/idx.js';
import { listCheckpoints, readCheckpoint } from '../../src/train/checkpoint.js';
import { firstNonFinite } from '../../src/train/trainer.js';
import { writeMiniMnist } from '../data/helpers.js';
import { encodeImage } from '../data/image-helpers.js';
import { dk, tempDir } from './helpers.js';

const root = tempDir('dk-bad-');
const F = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};
/** Fixtures (read-only for the cases). */
const X = {
  good: join(root.dir, 'good'), // 8×8 images, 4 classes
  small: join(root.dir, 'small'), // 5×7 images, 4 classes
  fiveClasses: join(root.dir, 'five'), // 8×8 images, 5 classes
  threeClasses: join(root.dir, 'three'), // 8×8 images, 3 classes
  model: join(root.dir, 'model.onnx'), // mlp:8 on [64] → 4 classes (untrained)
  tmpfs: join(root.dir, 'tmpfs'),
};
let tmpfsMounted = false;
// Fixtures are written before the table is built (the table reads them).
for (const d of [X.good, X.small, X.fiveClasses, X.threeClasses]) mkdirSync(d);
writeMiniMnist(X.threeClasses, { nTrain: 60, nTest: 20, rows: 8, cols: 8, classes: 3, seed: 4 });
writeMiniMnist(X.good, { nTrain: 60, nTest: 20, rows: 8, cols: 8, classes: 4, seed: 1 });
writeMiniMnist(X.small, { nTrain: 60, nTest: 20, rows: 5, cols: 7, classes: 4, seed: 2 });
writeMiniMnist(X.fiveClasses, { nTrain: 60, nTest: 20, rows: 8, cols: 8, classes: 5, seed: 3 });
const MODEL_BYTES = Network.create({ spec: 'mlp:8', inputShape: [64], classes: 4, options: {} }, 1).toOnnx();
writeFileSync(X.model, MODEL_BYTES);

type Files = Record<string, string | Uint8Array | null>; // null: a directory

interface Case {
  group: 'IDX' | 'NPY' | 'CSV' | 'images' | 'ONNX' | 'config' | 'flags' | 'files' | 'disk' | 'divergence' | 'resume';
  name: string;
  /** dk arguments; relative paths are in the case's own working directory. */
  args: string[];
  /** Files (or directories, null) created in the working directory first. */
  files?: Files;
  env?: Record<string, string>;
  /** Simulate a full disk for writes to files whose name contains this (helpers.ts dk). */
  fullDisk?: string;
  code?: number;
  /** Fragments the error line must contain. */
  expect: (string | RegExp)[];
  /** Skip unless this holds at run time. */
  when?: () => boolean;
  /** Extra check after the run (e.g. an existing file unchanged). */
  check?: (cwd: string) => void;
  /** New files that may appear (e.g. the checkpoints a diverging run leaves). */
  allowNew?: RegExp;
}

// ---- fixtures -------------------------------------------------------------------------------

function idx(dims: number[], data: ArrayLike<number>, type: 'uint8' | 'int32' | 'float32' = 'uint8'): Uint8Array {
  return encodeIdx(dims, data, type);
}
function goodFile(name: keyof typeof F): Uint8Array {
  return readFileSync(join(X.good, F[name]));
}
/** The good data directory's four files with some replaced: write into `sub` of the case dir. */
function dataDir(sub: string, replace: Partial<Record<keyof typeof F, Uint8Array | null | undefined>>, drop: (keyof typeof F)[] = []): Files {
  const files: Files = { [sub]: null };
  for (const k of Object.keys(F) as (keyof typeof F)[]) {
    if (drop.includes(k)) continue;
    files[`${sub}/${F[k]}`] = k in replace ? (replace[k] as Uint8Array | null) : goodFile(k);
  }
  return files;
}
function patched(name: keyof typeof F, fn: (b: Buffer) => Buffer | Uint8Array): Uint8Array {
  return fn(Buffer.from(goodFile(name)));
}

/** A foreign classifier (no dark-knowledge metadata): x [N,inD] → MatMul → y. */
function foreignOnnx(o: { inD?: number; classes?: number; output?: 'ok' | 'rank1' | 'rank3' | 'none'; meta?: string } = {}): Uint8Array {
  const inD = o.inD ?? 64;
  const C = o.classes ?? 4;
  const g = new GraphBuilder('teacher');
  const x = g.input('x', 'float32', ['N', inD]);
  const w = g.initializer('W', tensor('float32', [inD, C], new Float32Array(inD * C).fill(0.01)));
  let y = g.op('MatMul', [x, w]);
  if (o.output === 'rank3') y = g.op('Unsqueeze', [y, g.ints([2])]); // [N,C,1]
  if (o.output === 'rank1') y = g.reduceSum(y, [1]); // [N]
  if (o.output !== 'none') g.output(y, 'y');
  if (o.meta !== undefined) g.metadata[SPEC_KEY] = o.meta;
  return toOnnxBytes(g.build());
}

const TRAIN = (...more: string[]) => ['train', '--model', 'mlp:8', '--data', X.good, '--epochs', '1', '--batch', '16', '--threads', '1', '--quiet', '--out', 'out.onnx', ...more];
const DISTILL = (teacher: string, ...more: string[]) => ['distill', '--teacher', teacher, '--student', 'mlp:8', '--data', X.good, '--epochs', '1', '--batch', '16', '--threads', '1', '--quiet', '--no-cache', '--out', 'out.onnx', ...more];
const EVAL = (model: string, ...more: string[]) => ['eval', '--model', model, '--data', X.good, '--threads', '1', ...more];
const json = (o: unknown) => JSON.stringify(o);

/** PNG images for the image-folder cases: 8×8 grey (the good size) and one 12 wide, 10 high. */
const PNG8 = await encodeImage(Uint8Array.from({ length: 64 }, (_, i) => i * 4), 1, 8, 8, 'png');
const PNG10x12 = await encodeImage(new Uint8Array(120).fill(128), 1, 10, 12, 'png');
/** A good image-folder tree `img/` (classes a, b; 3 images each in train, 2 in test) with some entries replaced (null: a directory; undefined: removed). */
function imageTree(replace: Record<string, string | Uint8Array | null | undefined> = {}): Files {
  const files: Files = { img: null, 'img/train': null, 'img/test': null };
  for (const c of ['a', 'b']) {
    files[`img/train/${c}`] = null;
    files[`img/test/${c}`] = null;
    for (let i = 0; i < 3; i++) files[`img/train/${c}/${i}.png`] = PNG8;
    for (let i = 0; i < 2; i++) files[`img/test/${c}/${i}.png`] = PNG8;
  }
  for (const [k, v] of Object.entries(replace)) {
    if (v === undefined) {
      for (const f of Object.keys(files)) if (f === k || f.startsWith(`${k}/`)) delete files[f];
    } else files[k] = v;
  }
  return files;
}
/** Nothing half-made in the image cache: no cache directory at all. */
const noCache = (cwd: string) => assert.ok(!existsSync(join(cwd, '.dk-cache')), 'a cache directory was left behind');
const IMG_TRAIN = (...more: string[]) => TRAIN('--data', 'img', '--model', 'mlp:4', ...more);
/** A model for img/ (8×8 grey → 2 classes) whose saved class names are a, c. */
const OTHER_CLASSES_MODEL = (() => {
  const net = Network.create({ spec: 'mlp:8', inputShape: [64], classes: 2, options: {} }, 1);
  net.classNames = ['a', 'c'];
  return net.toOnnx();
})();

// ---- the table ------------------------------------------------------------------------------

const CASES: Case[] = [
  // IDX
  { group: 'IDX', name: 'wrong magic', args: TRAIN('--data', 'd'), files: dataDir('d', { trainImages: patched('trainImages', (b) => ((b[2] = 0x77), b)) }), expect: [F.trainImages, /IDX|magic|type/i] },
  { group: 'IDX', name: 'truncated images', args: TRAIN('--data', 'd'), files: dataDir('d', { trainImages: patched('trainImages', (b) => b.subarray(0, b.length - 50)) }), expect: [F.trainImages, 'truncated'] },
  { group: 'IDX', name: 'truncated header', args: TRAIN('--data', 'd'), files: dataDir('d', { testLabels: patched('testLabels', (b) => b.subarray(0, 6)) }), expect: [F.testLabels] },
  { group: 'IDX', name: 'empty file', args: TRAIN('--data', 'd'), files: dataDir('d', { trainLabels: new Uint8Array(0) }), expect: [F.trainLabels] },
  { group: 'IDX', name: 'image/label count mismatch', args: TRAIN('--data', 'd'), files: dataDir('d', { trainLabels: idx([59], new Uint8Array(59)) }), expect: [/60|59/, /label|image/i] },
  { group: 'IDX', name: 'images not 3-D', args: TRAIN('--data', 'd'), files: dataDir('d', { trainImages: idx([60, 64], new Uint8Array(60 * 64)) }), expect: [F.trainImages, /3-D|dimension|\[/i] },
  { group: 'IDX', name: 'labels not 1-D', args: TRAIN('--data', 'd'), files: dataDir('d', { trainLabels: idx([60, 1], new Uint8Array(60)) }), expect: [F.trainLabels, /1-D|dimension/i] },
  { group: 'IDX', name: 'train and test image sizes differ', args: TRAIN('--data', 'd'), files: dataDir('d', { testImages: idx([20, 5, 7], new Uint8Array(20 * 35)) }), expect: [/size|shape|\[/i] },
  { group: 'IDX', name: 'labels out of range (negative int32)', args: TRAIN('--data', 'd'), files: dataDir('d', { trainLabels: idx([60], new Int32Array(60).fill(-3), 'int32') }), expect: [F.trainLabels, /-3|negative|label/i] },
  { group: 'IDX', name: 'labels beyond the model\'s classes (dk eval)', args: EVAL(X.model, '--data', X.fiveClasses), expect: ['--model', '4 classes', '5'] },
  { group: 'IDX', name: 'a corrupt .gz', args: TRAIN('--data', 'd'), files: { ...dataDir('d', {}, ['trainImages']), [`d/${F.trainImages}.gz`]: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]) }, expect: [`${F.trainImages}.gz`, /gzip/i] },
  { group: 'IDX', name: 'incomplete directory', args: TRAIN('--data', 'd'), files: dataDir('d', {}, ['testLabels']), expect: [F.testLabels, /missing/] },
  // NPY
  { group: 'NPY', name: 'not an NPY file', args: TRAIN('--data', 'n'), files: npyDir({ xTrain: Buffer.from('hello, not numpy') }), expect: ['x_train.npy', /NPY|magic/i] },
  { group: 'NPY', name: 'x/y count mismatch', args: TRAIN('--data', 'n'), files: npyDir({ yTrain: npy('<i8', [9], new BigInt64Array(9)) }), expect: [/10|9/, /x_train|y_train/] },
  { group: 'NPY', name: 'unsupported dtype', args: TRAIN('--data', 'n'), files: npyDir({ xTrain: npy('<c8', [10, 4, 4], new Float32Array(2 * 160)) }), expect: ['x_train.npy', /dtype|c8/] },
  // CSV
  { group: 'CSV', name: 'ragged row', args: TRAIN('--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,5\n', 'c/test.csv': '0,1,2,3\n' }, expect: ['train.csv:2', /column/] },
  { group: 'CSV', name: 'non-numeric cell', args: TRAIN('--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,x,6\n', 'c/test.csv': '0,1,2,3\n' }, expect: ['train.csv', "'x'"] },
  { group: 'CSV', name: 'empty file', args: TRAIN('--data', 'c'), files: { c: null, 'c/train.csv': '', 'c/test.csv': '0,1,2,3\n' }, expect: ['train.csv', /no data/] },
  // image folders (nothing may be left in the decoded-image cache)
  { group: 'images', name: 'a corrupt image (not a PNG)', args: IMG_TRAIN(), files: imageTree({ 'img/train/b/1.png': 'not a png at all' }), expect: ['img/train/b/1.png', 'not a readable PNG, JPEG or WebP image'], check: noCache },
  { group: 'images', name: 'a truncated PNG', args: IMG_TRAIN(), files: imageTree({ 'img/test/a/0.png': PNG8.subarray(0, PNG8.length - 20) }), expect: ['img/test/a/0.png', 'not a readable'], check: noCache },
  { group: 'images', name: 'an unreadable image (a directory named 2.png)', args: IMG_TRAIN(), files: imageTree({ 'img/train/a/2.png': null }), expect: ['img/train/a/2.png', 'cannot read image', /directory/], check: noCache },
  { group: 'images', name: 'a GIF where an image is expected', args: IMG_TRAIN(), files: imageTree({ 'img/train/a/2.png': Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64') }), expect: ['img/train/a/2.png', 'not a readable PNG, JPEG or WebP image', 'it is a GIF file'], check: noCache },
  { group: 'images', name: 'a GIF with --channels and --image-size (no header pass)', args: IMG_TRAIN('--channels', '1', '--image-size', '8x8'), files: imageTree({ 'img/test/b/1.png': Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64') }), expect: ['img/test/b/1.png', 'it is a GIF file'], check: noCache },
  { group: 'images', name: 'an empty image file', args: IMG_TRAIN(), files: imageTree({ 'img/train/b/0.png': '' }), expect: ['img/train/b/0.png', 'the file is empty'], check: noCache },
  { group: 'images', name: 'an empty class folder', args: IMG_TRAIN(), files: imageTree({ 'img/train/c': null }), expect: ['img/train/c', 'empty class folder'], check: noCache },
  { group: 'images', name: 'a class folder with no images (only a text file)', args: IMG_TRAIN(), files: imageTree({ 'img/test/b/0.png': undefined, 'img/test/b/1.png': undefined, 'img/test/b/notes.txt': 'hello' }), expect: ['img/test/b', 'empty class folder'], check: noCache },
  { group: 'images', name: 'a test class that train does not have', args: IMG_TRAIN(), files: imageTree({ 'img/test/z': null, 'img/test/z/0.png': PNG8 }), expect: ['img/test/z', "class 'z' is not among the training classes", 'a, b'], check: noCache },
  { group: 'images', name: 'images of differing sizes without --image-size (names two files and their sizes)', args: IMG_TRAIN(), files: imageTree({ 'img/train/b/1.png': PNG10x12 }), expect: ['img/train/b/1.png is 10x12', 'img/train/a/0.png is 8x8', '--image-size'], check: noCache },
  { group: 'images', name: 'neither test/ nor val/', args: IMG_TRAIN(), files: imageTree({ 'img/test': undefined }), expect: ['img', 'neither test/ nor val/'], check: noCache },
  { group: 'images', name: 'one class only', args: IMG_TRAIN(), files: imageTree({ 'img/train/b': undefined, 'img/test/b': undefined }), expect: ['img/train', 'one class folder (a)'], check: noCache },
  { group: 'images', name: 'an image outside any class folder', args: IMG_TRAIN(), files: imageTree({ 'img/train/loose.png': PNG8 }), expect: ['img/train/loose.png', 'outside any class folder'], check: noCache },
  { group: 'images', name: '--image-size not HxW', args: IMG_TRAIN('--image-size', '32'), files: imageTree(), expect: ['--image-size', "'32'"], check: noCache },
  { group: 'images', name: '--image-size with IDX data (it would be ignored)', args: TRAIN('--image-size', '8x8'), expect: ['--image-size', 'applies to image folders only', X.good] },
  { group: 'images', name: 'eval --channels with IDX data', args: EVAL(X.model, '--channels', '3'), expect: ['--channels', 'applies to image folders only'] },
  { group: 'images', name: '--channels 2', args: IMG_TRAIN('--channels', '2'), files: imageTree(), expect: ['--channels', '1 (greyscale) or 3 (RGB)'], check: noCache },
  { group: 'images', name: 'eval: a model trained on other classes', args: EVAL('m.onnx', '--data', 'img', '--no-cache'), files: { ...imageTree(), 'm.onnx': OTHER_CLASSES_MODEL }, expect: ['--model m.onnx', 'classes a, c', 'has a, b'], check: noCache },
  { group: 'images', name: 'distill: an unlabeled transfer set with α < 1', args: DISTILL('t.onnx', '--data', 'img', '--transfer', 'u'), files: { ...imageTree(), 't.onnx': foreignOnnx({ classes: 2 }), u: null, 'u/0.png': PNG8, 'u/1.png': PNG8 }, expect: ['--alpha 0.9', 'has no labels', '--alpha 1'] },
  { group: 'images', name: 'distill: an unlabeled transfer set with --mix alternate', args: DISTILL('t.onnx', '--data', 'img', '--transfer', 'u', '--alpha', '1', '--mix', 'alternate'), files: { ...imageTree(), 't.onnx': foreignOnnx({ classes: 2 }), u: null, 'u/0.png': PNG8 }, expect: ['--mix alternate', 'has no labels', 'use --mix convex --alpha 1'] },
  { group: 'images', name: 'distill: an unlabeled transfer set with --omit-classes', args: DISTILL('t.onnx', '--data', 'img', '--transfer', 'u', '--alpha', '1', '--omit-classes', '1'), files: { ...imageTree(), 't.onnx': foreignOnnx({ classes: 2 }), u: null, 'u/0.png': PNG8 }, expect: ['--omit-classes:', 'has no labels to select classes by'] },
  { group: 'images', name: 'distill: transfer images of another size', args: DISTILL('t.onnx', '--data', 'img', '--transfer', 'u', '--alpha', '1'), files: { ...imageTree(), 't.onnx': foreignOnnx({ classes: 2 }), u: null, 'u/0.png': PNG10x12 }, expect: ['u/0.png', '10x12', '8x8'] },
  { group: 'images', name: 'distill: --transfer path missing', args: DISTILL('t.onnx', '--data', 'img', '--transfer', 'nowhere', '--alpha', '1'), files: { ...imageTree(), 't.onnx': foreignOnnx({ classes: 2 }) }, expect: ['nowhere', 'does not exist'] },
  { group: 'images', name: '--layout nhwc on flat (CSV) data', args: TRAIN('--layout', 'nhwc', '--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,5,6\n', 'c/test.csv': '0,1,2,3\n' }, expect: ['--layout nhwc', 'needs image data [C,H,W]', '[3]'] },
  { group: 'images', name: 'distill: --layout nhwc on flat (CSV) data', args: DISTILL('t.onnx', '--layout', 'nhwc', '--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,5,6\n', 'c/test.csv': '0,1,2,3\n', 't.onnx': foreignOnnx({ inD: 3, classes: 2 }) }, expect: ['--layout nhwc', 'needs image data [C,H,W]'] },
  // ONNX (dk eval --model, dk distill --teacher)
  { group: 'ONNX', name: 'eval: not ONNX', args: EVAL('m.onnx'), files: { 'm.onnx': 'just text\n' }, expect: ['m.onnx', /ONNX/] },
  { group: 'ONNX', name: 'eval: empty file', args: EVAL('m.onnx'), files: { 'm.onnx': new Uint8Array(0) }, expect: ['m.onnx'] },
  { group: 'ONNX', name: 'eval: truncated model', args: EVAL('m.onnx'), files: { 'm.onnx': MODEL_BYTES.subarray(0, MODEL_BYTES.length >> 1) }, expect: ['m.onnx'] },
  { group: 'ONNX', name: 'eval: a foreign model (no dark-knowledge metadata) with 3 classes, the data has 4', args: EVAL('m.onnx'), files: { 'm.onnx': foreignOnnx({ classes: 3 }) }, expect: ['--model m.onnx', '3 classes', '4 classes'] },
  { group: 'ONNX', name: 'eval: corrupt metadata', args: EVAL('m.onnx'), files: { 'm.onnx': foreignOnnx({ meta: '{not json' }) }, expect: ['m.onnx', /metadata/] },
  { group: 'ONNX', name: 'eval: metadata naming weights the file lacks', args: EVAL('m.onnx'), files: { 'm.onnx': foreignOnnx({ meta: json({ spec: 'mlp:8', inputShape: [64], classes: 4, options: {} }) }) }, expect: ['m.onnx', /weight|missing/] },
  { group: 'ONNX', name: 'eval: input size mismatch (8×8 model, 5×7 data)', args: EVAL(X.model, '--data', X.small), expect: [/64|35|\[1,5,7\]/] },
  { group: 'ONNX', name: 'distill: teacher not ONNX', args: DISTILL('t.onnx'), files: { 't.onnx': 'nope' }, expect: ['t.onnx', /ONNX/] },
  { group: 'ONNX', name: 'distill: teacher with no output', args: DISTILL('t.onnx'), files: { 't.onnx': noOutputOnnx() }, expect: ['t.onnx', /output/] },
  { group: 'ONNX', name: 'distill: teacher output of rank 1 ([N], no class axis)', args: DISTILL('t.onnx'), files: { 't.onnx': foreignOnnx({ output: 'rank1' }) }, expect: ['t.onnx', /shape|rank|\[N/] },
  { group: 'ONNX', name: 'distill: teacher output [N,4,1] with 3 classes wanted', args: DISTILL('t.onnx', '--data', X.threeClasses), files: { 't.onnx': foreignOnnx({ output: 'rank3' }) }, expect: ['t.onnx', '[N,4,1]', '3 classes'] },
  { group: 'ONNX', name: 'distill: teacher class count ≠ data classes', args: DISTILL('t.onnx'), files: { 't.onnx': foreignOnnx({ classes: 3 }) }, expect: ['t.onnx', /3/, /class/] },
  { group: 'ONNX', name: 'distill: teacher input size ≠ data', args: DISTILL('t.onnx'), files: { 't.onnx': foreignOnnx({ inD: 50 }) }, expect: ['t.onnx', /50|64/] },
  { group: 'ONNX', name: 'distill: the teacher takes [N,64], the data has 3 features', args: DISTILL(X.model, '--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,5,6\n', 'c/test.csv': '0,1,2,3\n' }, expect: [X.model, '[N,64]', '[3]'] },
  // foreign teachers: outputs, preprocessing, external data
  { group: 'ONNX', name: 'distill: two outputs could hold the class scores', args: DISTILL('t.onnx'), files: { 't.onnx': twoOutputOnnx() }, expect: ['--teacher t.onnx', "'y1' [N,4]", "'y2' [N,4]", '--teacher-output NAME'] },
  { group: 'ONNX', name: 'distill: --teacher-output names no output of the teacher', args: DISTILL('t.onnx', '--teacher-output', 'scores'), files: { 't.onnx': twoOutputOnnx() }, expect: ['--teacher-output scores', "no output 'scores'", "'y1' [N,4], 'y2' [N,4]"] },
  { group: 'ONNX', name: 'distill: --teacher-mean with 3 values for 1-channel data', args: DISTILL('t.onnx', '--teacher-mean', '0.1,0.2,0.3'), files: { 't.onnx': foreignOnnx() }, expect: ['--teacher-mean', '3 values for t.onnx', '1 channel', 'give 1 value'] },
  { group: 'ONNX', name: 'distill: --teacher-std with 3 entries for 1 teacher', args: DISTILL('t.onnx', '--teacher-std', '0.3:0.2:0.1'), files: { 't.onnx': foreignOnnx() }, expect: ['--teacher-std', '3 entries', "':'", 'the one model'] },
  { group: 'ONNX', name: 'distill: --teacher-std 0', args: DISTILL('t.onnx', '--teacher-std', '0'), files: { 't.onnx': foreignOnnx() }, expect: ['--teacher-std', 'positive', "'0'"] },
  { group: 'ONNX', name: 'distill: --teacher-layout not a layout', args: DISTILL('t.onnx', '--teacher-layout', 'hwc'), files: { 't.onnx': foreignOnnx() }, expect: ['--teacher-layout', 'auto, nchw, nhwc', "'hwc'"] },
  { group: 'ONNX', name: 'distill: layout undecidable (input [N,c,h,w], 3-channel data)', args: DISTILL('t.onnx', '--data', 'n'), files: { 't.onnx': symbolicImageOnnx(), ...rgbNpyDir() }, expect: ['--teacher t.onnx', 'cannot tell the input layout', '--teacher-layout nchw or nhwc'] },
  { group: 'ONNX', name: 'eval: layout undecidable for a foreign model', args: EVAL('t.onnx', '--data', 'n'), files: { 't.onnx': symbolicImageOnnx(), ...rgbNpyDir() }, expect: ['--model t.onnx', 'cannot tell the input layout', '--layout nchw or nhwc'] },
  { group: 'ONNX', name: 'eval: --mean with 2 values for 3-channel data', args: EVAL('t.onnx', '--data', 'n', '--layout', 'nchw', '--mean', '0.5,0.5'), files: { 't.onnx': symbolicImageOnnx(), ...rgbNpyDir() }, expect: ['--mean', '2 values for t.onnx', '3 channels'] },
  { group: 'ONNX', name: 'eval: --std for a model saved by dark-knowledge', args: EVAL(X.model, '--std', '0.5'), expect: ['--std', X.model, 'saved by dark-knowledge'] },
  { group: 'ONNX', name: 'distill: the teacher\'s external data file is missing', args: DISTILL('t.onnx'), files: { 't.onnx': externalTeacher() }, expect: ['--teacher t.onnx', "external data file 'cnn-ext.onnx.data'", 'ENOENT'] },
  { group: 'flags', name: 'a cnn on flat CSV data', args: TRAIN('--model', 'cnn:4:8', '--data', 'c'), files: { c: null, 'c/train.csv': '0,1,2,3\n1,4,5,6\n', 'c/test.csv': '0,1,2,3\n' }, expect: ["'cnn:4:8'", /image|\[C,H,W\]/] },
  // configs
  { group: 'config', name: 'not JSON', args: TRAIN('--config', 'r.json'), files: { 'r.json': '{"lr": 0.1,' }, expect: ['--config r.json', /JSON/] },
  { group: 'config', name: 'unknown key (with a hint)', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ weightDecay: 0.1 }) }, expect: ['r.json', "unknown key 'weightDecay'", "'weight-decay'"] },
  { group: 'config', name: 'wrong type', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ lr: '0.1' }) }, expect: ['r.json', "key 'lr'", 'number'] },
  { group: 'config', name: 'out of range', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ epochs: 0 }) }, expect: ['r.json', "key 'epochs'", '>= 1'] },
  { group: 'config', name: 'not an integer', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ batch: 2.5 }) }, expect: ['r.json', "key 'batch'", 'integer'] },
  { group: 'config', name: 'bad choice', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ optimizer: 'rmsprop' }) }, expect: ['r.json', "key 'optimizer'", '"sgd"'] },
  { group: 'config', name: 'a config for another command', args: TRAIN('--config', 'r.json'), files: { 'r.json': json({ command: 'distill' }) }, expect: ['r.json', "key 'command'", '"train"'] },
  { group: 'config', name: 'not an object', args: TRAIN('--config', 'r.json'), files: { 'r.json': '[1, 2]' }, expect: ['r.json', 'object'] },
  { group: 'config', name: 'missing file', args: TRAIN('--config', 'nope.json'), expect: ['nope.json', 'ENOENT'] },
  { group: 'config', name: 'a directory', args: TRAIN('--config', 'cfgdir'), files: { cfgdir: null }, expect: ['cfgdir', 'directory'] },
  { group: 'config', name: 'YAML', args: TRAIN('--config', 'r.yaml'), files: { 'r.yaml': 'lr: 0.1\n' }, expect: ['r.yaml', 'JSON'] },
  { group: 'config', name: 'distill: temperature 0 in the file', args: DISTILL(X.model, '--config', 'r.json'), files: { 'r.json': json({ temperature: 0 }) }, expect: ['r.json', "key 'temperature'", '> 0'] },
  // flags
  { group: 'flags', name: 'T = 0', args: DISTILL(X.model, '--temperature', '0'), expect: ['--temperature', '> 0'] },
  { group: 'flags', name: 'T < 0', args: DISTILL(X.model, '--temperature', '-2'), expect: ['--temperature'] },
  { group: 'flags', name: 'α > 1', args: DISTILL(X.model, '--alpha', '1.5'), expect: ['--alpha', '≤ 1'] },
  { group: 'flags', name: 'α < 0', args: DISTILL(X.model, '--alpha', '-0.1'), expect: ['--alpha', '≥ 0'] },
  { group: 'flags', name: 'epochs 0', args: TRAIN('--epochs', '0'), expect: ['--epochs', '≥ 1'] },
  { group: 'flags', name: 'epochs fractional', args: TRAIN('--epochs', '1.5'), expect: ['--epochs', 'integer'] },
  { group: 'flags', name: 'unknown model spec', args: TRAIN('--model', 'foo:3'), expect: ["'foo:3'"] },
  { group: 'flags', name: 'empty mlp spec', args: TRAIN('--model', 'mlp:'), expect: ["'mlp:'"] },
  { group: 'flags', name: 'lr not a number', args: TRAIN('--lr', 'fast'), expect: ['--lr', "'fast'"] },
  { group: 'flags', name: 'specialists: α > 1', args: ['specialists', '--generalist', X.model, '--data', X.good, '--out', 'sp', '--alpha', '2'], expect: ['--alpha'] },
  { group: 'flags', name: '--checkpoint-every without a directory', args: TRAIN('--checkpoint-every', '5'), expect: ['--checkpoint-every', '--checkpoint-dir'] },
  { group: 'flags', name: '--out over an existing file without --force', args: TRAIN(), files: { 'out.onnx': 'precious' }, expect: ['--out out.onnx', '--force'], check: (cwd) => assert.equal(readFileSync(join(cwd, 'out.onnx'), 'utf8'), 'precious') },
  { group: 'flags', name: 'distill --out over an existing file without --force', args: DISTILL(X.model), files: { 'out.onnx': 'precious' }, expect: ['--out out.onnx', '--force'] },
  { group: 'flags', name: 'specialists --out over a non-empty directory without --force', args: ['specialists', '--generalist', X.model, '--data', X.good, '--out', 'sp'], files: { sp: null, 'sp/keep': 'x' }, expect: ['--out sp', '--force'] },
  { group: 'flags', name: '--out in a missing directory', args: TRAIN('--out', 'no/such/out.onnx'), expect: ['no/such/out.onnx', 'does not exist'] },
  // files
  { group: 'files', name: 'missing data directory', args: TRAIN('--data', 'nowhere'), expect: ['nowhere'] },
  { group: 'files', name: 'data path is a file', args: TRAIN('--data', 'afile'), files: { afile: 'x' }, expect: ['afile'] },
  { group: 'files', name: 'unreadable data file (a directory in its place)', args: TRAIN('--data', 'd'), files: dataDir('d', { trainImages: null }), expect: [F.trainImages, /directory|EISDIR/] },
  { group: 'files', name: 'missing model', args: EVAL('gone.onnx'), expect: ['gone.onnx', 'ENOENT'] },
  { group: 'files', name: 'unreadable model (path through a file: ENOTDIR)', args: EVAL('afile/m.onnx'), files: { afile: 'x' }, expect: ['afile/m.onnx', 'ENOTDIR'] },
  { group: 'files', name: 'model path is a directory', args: EVAL('mdir'), files: { mdir: null }, expect: ['mdir', /EISDIR|directory/] },
  { group: 'files', name: 'missing teacher', args: DISTILL('gone.onnx'), expect: ['gone.onnx'] },
  { group: 'files', name: 'missing generalist', args: ['specialists', '--generalist', 'gone.onnx', '--data', X.good, '--out', 'sp', '--epochs', '1', '--threads', '1', '--quiet'], expect: ['gone.onnx'] },
  // full disk
  { group: 'disk', name: 'injected ENOSPC writing the model', args: TRAIN(), fullDisk: 'out.onnx', expect: ['out.onnx', 'no space left', 'ENOSPC'] },
  { group: 'disk', name: 'injected ENOSPC over an existing model (--force): old file intact', args: TRAIN('--force'), files: { 'out.onnx': 'old model' }, fullDisk: 'out.onnx', expect: ['out.onnx', 'ENOSPC', 'unchanged'], check: (cwd) => assert.equal(readFileSync(join(cwd, 'out.onnx'), 'utf8'), 'old model') },
  { group: 'disk', name: 'injected ENOSPC writing a checkpoint', args: TRAIN('--checkpoint-dir', 'ck'), files: { ck: null }, fullDisk: '.dkc', expect: ['.dkc', 'ENOSPC'] },
  { group: 'disk', name: 'a real full disk (64 KiB tmpfs)', args: [...TRAIN('--model', 'mlp:512'), '--out', join(X.tmpfs, 'big.onnx')], expect: ['big.onnx', 'ENOSPC'], when: () => tmpfsMounted, check: () => assert.deepEqual(readdirSync(X.tmpfs), []) },
  // divergence
  { group: 'divergence', name: 'a huge learning rate', args: TRAIN('--lr', '1e10', '--schedule', 'constant', '--epochs', '3'), code: 3, expect: [/loss (became (NaN|Infinity)|exploded to \S+)/, 'step', 'learning rate'] },
  { group: 'divergence', name: 'a huge learning rate with checkpoints: the last good one stays', args: TRAIN('--lr', '1e10', '--schedule', 'constant', '--epochs', '3', '--checkpoint-dir', 'ck', '--checkpoint-every', '1'), files: { ck: null }, code: 3, expect: ['learning rate', /last good checkpoint .*\.dkc is intact/], allowNew: /^ck\/run-\w+(\.prev)?\.dkc$/, check: checkpointsFinite },
  // resume
  { group: 'resume', name: '--resume a missing directory', args: TRAIN('--resume', 'nock'), expect: ['--resume nock', 'does not exist'] },
  { group: 'resume', name: '--resume a file', args: TRAIN('--resume', 'afile'), files: { afile: 'x' }, expect: ['--resume afile', 'file'] },
  { group: 'resume', name: '--checkpoint-dir over old checkpoints without --resume/--force', args: TRAIN('--checkpoint-dir', 'ck'), files: { ck: null, 'ck/run-0.dkc': 'x' }, expect: ['--checkpoint-dir ck', '--resume', '--force'] },
  { group: 'resume', name: '--resume from a corrupt checkpoint', args: TRAIN('--resume', 'ck'), files: { ck: null, 'ck/run-000000000000.dkc': 'garbage' }, expect: [] /* filled below */ },
];

// The corrupt-checkpoint case needs the real file name of this run's checkpoint: made at setup.
const corruptCase = CASES[CASES.length - 1];

/** Every checkpoint in cwd/ck reads back (checksum good) and holds only finite values. */
function checkpointsFinite(cwd: string): void {
  const files = listCheckpoints(join(cwd, 'ck'));
  assert.ok(files.length > 0, 'no checkpoint was kept');
  for (const f of files) assert.equal(firstNonFinite(readCheckpoint(join(cwd, 'ck', f)).state), null, `${f} holds a non-finite value`);
}

function npy(descr: string, shape: number[], data: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  return Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
function npyDir(replace: Partial<Record<'xTrain' | 'yTrain' | 'xTest' | 'yTest', Uint8Array>>): Files {
  const base = {
    xTrain: npy('|u1', [10, 4, 4], new Uint8Array(160)),
    yTrain: npy('<i8', [10], new BigInt64Array(10).fill(1n)),
    xTest: npy('|u1', [5, 4, 4], new Uint8Array(80)),
    yTest: npy('<i8', [5], new BigInt64Array(5)),
    ...replace,
  };
  return { n: null, 'n/x_train.npy': base.xTrain, 'n/y_train.npy': base.yTrain, 'n/x_test.npy': base.xTest, 'n/y_test.npy': base.yTest };
}
/** A foreign teacher with two outputs shaped [N,4] (x [N,64] → y1, y2). */
function twoOutputOnnx(): Uint8Array {
  const g = new GraphBuilder('teacher');
  const x = g.input('x', 'float32', ['N', 64]);
  const y = g.op('MatMul', [x, g.initializer('W', tensor('float32', [64, 4], new Float32Array(256).fill(0.01)))]);
  const r = g.op('Relu', [y]);
  g.output(y, 'y1');
  g.output(r, 'y2');
  return toOnnxBytes(g.build());
}
/** A foreign teacher whose image input [N,c,h,w] says nothing about its layout → Flatten → [N,2]. */
function symbolicImageOnnx(): Uint8Array {
  const g = new GraphBuilder('teacher');
  const x = g.input('x', 'float32', ['N', 'c', 'h', 'w']);
  const f = g.op('Flatten', [x], { axis: 1 });
  g.output(g.op('MatMul', [f, g.initializer('W', tensor('float32', [48, 2], new Float32Array(96).fill(0.01)))]), 'y');
  return toOnnxBytes(g.build());
}
/** An NPY directory 'n' of 3-channel 4×4 images, 2 classes. */
function rgbNpyDir(): Files {
  return npyDir({
    xTrain: npy('|u1', [10, 3, 4, 4], new Uint8Array(480)),
    xTest: npy('|u1', [5, 3, 4, 4], new Uint8Array(240)),
  });
}
/** A PyTorch-made teacher saved with external data (test/fixtures/teachers), copied without its data file. */
function externalTeacher(): Uint8Array {
  return readFileSync(new URL('../../../test/fixtures/teachers/cnn-ext.onnx', import.meta.url));
}
function noOutputOnnx(): Uint8Array {
  const g = new GraphBuilder('teacher');
  const x = g.input('x', 'float32', ['N', 64]);
  g.op('Relu', [x]);
  return toOnnxBytes(g.build());
}

// ---- the runner -----------------------------------------------------------------------------

function listAll(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    out.push(prefix + n);
    if (statSync(p).isDirectory()) out.push(...listAll(p, `${prefix}${n}/`));
  }
  return out;
}

async function runCase(c: Case, i: number): Promise<void> {
  const cwd = join(root.dir, `case-${i}`);
  mkdirSync(cwd);
  for (const [f, content] of Object.entries(c.files ?? {})) {
    if (content === null) mkdirSync(join(cwd, f), { recursive: true });
    else writeFileSync(join(cwd, f), content);
  }
  const before = listAll(cwd);
  const r = await dk(c.args, { cwd, env: c.env, fullDisk: c.fullDisk, timeoutMs: 60_000 });
  const what = `[${c.group}] ${c.name}: dk ${c.args.join(' ')}\n--- stderr:\n${r.stderr}--- stdout:\n${r.stdout}`;
  assert.ok(!r.timedOut, `hung (killed after 60 s): ${what}`);
  assert.equal(r.code, c.code ?? 2, `exit code ${r.code}: ${what}`);
  const errLines = r.stderr.split('\n').filter((l) => /^(dk|error): /.test(l));
  assert.equal(errLines.length, 1, `expected one error line: ${what}`);
  for (const e of c.expect) {
    if (typeof e === 'string') assert.ok(errLines[0].includes(e), `message lacks ${JSON.stringify(e)}: ${what}`);
    else assert.match(errLines[0], e, what);
  }
  assert.ok(!/^\s+at .+(:\d+:\d+\)?|native\))$/m.test(r.stderr), `stack trace shown without --debug: ${what}`);
  assert.equal(r.stdout, '', `stdout not empty: ${what}`);
  assert.deepEqual(listAll(cwd).filter((f) => !c.allowNew?.test(f)), before, `files were created or removed: ${what}`);
  c.check?.(cwd);
}

describe('bad input', () => {
  before(async () => {
    mkdirSync(X.tmpfs);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', X.tmpfs], { stdio: 'ignore' });
      tmpfsMounted = true;
    } catch {
      tmpfsMounted = false; // not allowed here: the injected write error still covers a full disk
    }
    // The corrupt checkpoint must carry this run's checkpoint name: take it from a real run.
    const probe = join(root.dir, 'probe');
    mkdirSync(probe);
    const r = await dk(TRAIN('--checkpoint-dir', 'ck'), { cwd: probe, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const name = readdirSync(join(probe, 'ck')).find((n) => !n.includes('.prev.'))!;
    corruptCase.files = { ck: null, [`ck/${name}`]: 'garbage, not a checkpoint' };
    corruptCase.expect = [`ck/${name}`, /magic|truncated/];
  });
  after(() => {
    if (tmpfsMounted) execFileSync('umount', [X.tmpfs]);
    root.cleanup();
  });

  // One subtest per case, two at a time (2 cores). DK_BAD_ONLY=regex runs only the matching ones.
  const only = process.env.DK_BAD_ONLY ? new RegExp(process.env.DK_BAD_ONLY) : null;
  const tally = { ran: 0, passed: 0, skipped: 0, slowest: 0, groups: {} as Record<string, number> };
  describe(`${CASES.length} cases: exit 2 (3 for divergence), one line naming the culprit, no stack, no partial output, no hang`, { concurrency: 2 }, () => {
    CASES.forEach((c, i) => {
      it(`[${c.group}] ${c.name}`, { skip: only !== null && !only.test(`${c.group} ${c.name}`) }, async (t) => {
        if (c.when && !c.when()) {
          tally.skipped++;
          t.skip('not possible on this machine');
          return;
        }
        const t0 = Date.now();
        tally.ran++;
        tally.groups[c.group] = (tally.groups[c.group] ?? 0) + 1;
        await runCase(c, i);
        tally.passed++;
        tally.slowest = Math.max(tally.slowest, Date.now() - t0);
      });
    });
    after(() => {
      const g = Object.entries(tally.groups).map(([k, n]) => `${k} ${n}`).join(', ');
      console.log(`# bad-input suite: ${tally.ran} cases run (${g}), ${tally.passed} passed, ${tally.skipped} skipped; no crash, no hang (slowest ${(tally.slowest / 1000).toFixed(1)} s)`);
    });
  });

  it('the table has at least 40 cases', () => {
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  });

  it('--debug shows the stack trace that is otherwise hidden', async () => {
    const cwd = join(root.dir, 'debug');
    mkdirSync(cwd);
    const r = await dk(['--debug', ...EVAL('gone.onnx')], { cwd, timeoutMs: 60_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^dk: .*gone\.onnx/m);
    assert.match(r.stderr, /^\s+at /m);
  });

  it('a config file is applied, flags override it, and the effective config is saved next to the output', async () => {
    const cwd = join(root.dir, 'config-ok');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'run.json'), json({ command: 'train', model: 'mlp:8', data: X.good, epochs: 2, lr: 0.2, 'weight-decay': 0.001, nesterov: true, threads: 1 }));
    const r = await dk(['train', '--config', 'run.json', '--lr', '0.03', '--out', 'm.onnx', '--quiet'], { cwd, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const eff = JSON.parse(readFileSync(join(cwd, 'm.onnx.config.json'), 'utf8'));
    assert.equal(eff.command, 'train');
    assert.equal(eff.epochs, 2);
    assert.equal(eff.lr, 0.03, 'the flag did not override the file');
    assert.equal(eff['weight-decay'], 0.001);
    assert.equal(eff.nesterov, true);
    assert.equal(eff.batch, 128, 'defaults missing from the effective config');
    // The saved config is itself a valid config: rerun from it alone.
    rmSync(join(cwd, 'm.onnx'));
    const again = await dk(['train', '--config', 'm.onnx.config.json', '--quiet'], { cwd, timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    // --config-schema prints the schema.
    const s = await dk(['train', '--config-schema'], { cwd, timeoutMs: 30_000 });
    assert.equal(s.code, 0, s.stderr);
    const schema = JSON.parse(s.stdout);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.epochs.type, 'integer');
    assert.deepEqual(schema.properties.optimizer.enum, ['sgd', 'adam', 'adamw']);
  });

  it('--resume with changed flags is refused before any work, naming the flags', async () => {
    const cwd = join(root.dir, 'resume-diff');
    mkdirSync(cwd);
    const a = await dk(TRAIN('--checkpoint-dir', 'ck'), { cwd, timeoutMs: 60_000 });
    assert.equal(a.code, 0, a.stderr);
    rmSync(join(cwd, 'out.onnx'));
    const b = await dk(TRAIN('--resume', 'ck', '--lr', '0.5', '--seed', '4'), { cwd, timeoutMs: 60_000 });
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /^dk: --resume ck: .*lr \(0\.05 → 0\.5\).*seed \(1 → 4\)/m);
    assert.ok(!readdirSync(cwd).includes('out.onnx'));
  });
});
