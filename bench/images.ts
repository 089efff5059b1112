/**
 * `node dist/bench/images.js [--train 10000] [--test 2000] [--json FILE]`
 *
 * Image-folder loading: writes the first N MNIST examples as a PNG tree (train/<digit>/…,
 * test/<digit>/…) in a temporary directory, then times openData on it: decoding with an empty
 * cache (which writes the cache), the second load (a cache hit), and decoding with a resize to
 * 32×32 RGB without the cache. A benchmark, never part of `npm test`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openData } from '../src/data/load.js';
import { loadBuiltinMnist } from '../src/data/mnist.js';
import type { Dataset } from '../src/data/dataset.js';
import { writeFileAtomic } from '../src/util/atomic.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench/images: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return v;
}

async function writeTree(dir: string, ds: Dataset, n: number, split: string): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const folder = join(dir, split, String(ds.y[i]));
    mkdirSync(folder, { recursive: true });
    const px = Uint8Array.from(ds.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
    const file = join(folder, `${String(i).padStart(5, '0')}.png`);
    jobs.push(sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer().then((b) => writeFileSync(file, b)));
  }
  await Promise.all(jobs);
}

const nTrain = arg('train', 10000);
const nTest = arg('test', 2000);
const jsonAt = process.argv.indexOf('--json');
const root = mkdtempSync(join(tmpdir(), 'dk-bench-images-'));
try {
  const m = loadBuiltinMnist();
  const tree = join(root, 'tree');
  let t = performance.now();
  await writeTree(tree, m.train, nTrain, 'train');
  await writeTree(tree, m.test, nTest, 'test');
  const rows: { what: string; seconds: number; shape: number[] }[] = [{ what: 'write the PNG tree', seconds: (performance.now() - t) / 1000, shape: [1, 28, 28] }];
  for (const [what, o] of [
    ['decode (empty cache; writes it)', {}],
    ['second load (cache hit)', {}],
    ['decode, resize to 32x32 RGB (no cache)', { cacheDir: null, size: [32, 32] as [number, number], channels: 3 as const }],
  ] as const) {
    t = performance.now();
    const s = await openData(tree, { cacheDir: join(root, 'cache'), ...o });
    rows.push({ what, seconds: (performance.now() - t) / 1000, shape: s.train.shape });
  }
  const n = nTrain + nTest;
  process.stdout.write(`${n} images (${nTrain} train, ${nTest} test), ${cpus().length} CPUs\n`);
  for (const r of rows) process.stdout.write(`  ${r.what.padEnd(42)} ${r.seconds.toFixed(2).padStart(7)} s  (${((1000 * r.seconds) / n).toFixed(3)} ms/image) [${r.shape}]\n`);
  if (jsonAt >= 0) writeFileAtomic(process.argv[jsonAt + 1], JSON.stringify({ images: n, cpus: cpus().length, rows }, null, 2) + '\n');
} finally {
  rmSync(root, { recursive: true, force: true });
}
