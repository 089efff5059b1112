import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, type IdxType } from '../../src/data/idx.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'dk-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeIdx(path: string, dims: number[], data: ArrayLike<number>, type: IdxType = 'uint8', gzip = false): string {
  const bytes = encodeIdx(dims, data, type);
  writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

export function randomBytes(n: number, rng: Rng, max = 256): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(max);
  return a;
}

export interface MiniMnist {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

/** Write a small MNIST-style directory (random pixels and labels) and return what was written. */
export function writeMiniMnist(
  dir: string,
  opts: { nTrain?: number; nTest?: number; rows?: number; cols?: number; classes?: number; gzip?: boolean; seed?: number } = {},
): MiniMnist {
  const { nTrain = 12, nTest = 5, rows = 5, cols = 7, classes = 3, gzip = false, seed = 7 } = opts;
  const rng = new Rng(seed);
  const m: MiniMnist = {
    trainImages: randomBytes(nTrain * rows * cols, rng),
    trainLabels: randomBytes(nTrain, rng, classes),
    testImages: randomBytes(nTest * rows * cols, rng),
    testLabels: randomBytes(nTest, rng, classes),
  };
  m.trainLabels[0] = classes - 1; // make the class count deterministic
  const gz = gzip ? '.gz' : '';
  writeIdx(join(dir, `train-images-idx3-ubyte${gz}`), [nTrain, rows, cols], m.trainImages, 'uint8', gzip);
  writeIdx(join(dir, `train-labels-idx1-ubyte${gz}`), [nTrain], m.trainLabels, 'uint8', gzip);
  writeIdx(join(dir, `t10k-images-idx3-ubyte${gz}`), [nTest, rows, cols], m.testImages, 'uint8', gzip);
  writeIdx(join(dir, `t10k-labels-idx1-ubyte${gz}`), [nTest], m.testLabels, 'uint8', gzip);
  return m;
}

/** Assert that fn throws a UsageError whose message contains every given fragment. */
export function throwsUsage(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    return true;
  });
}
