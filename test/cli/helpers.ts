/** Shared helpers for the CLI tests: run `dk` as a child process, write small MNIST-style directories. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdx } from '../../src/data/idx.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { Rng } from '../../src/util/rng.js';

/** The built CLI entry point (dist/src/cli/main.js). */
export const DK = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface DkResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node dist/src/cli/main.js …args` in `cwd` (stdin closed, no TTY, so no progress bars). */
export function dk(args: string[], cwd: string, timeoutMs = 60_000): DkResult {
  const r = spawnSync(process.execPath, [DK, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Write the first nTrain/nTest examples of the built-in MNIST as an MNIST-style IDX directory; returns the test labels. */
export function writeMnistSubset(dir: string, nTrain: number, nTest: number): Int32Array {
  mkdirSync(dir, { recursive: true });
  const m = loadBuiltinMnist();
  const write = (x: Float32Array, y: Int32Array, n: number, img: string, lab: string) => {
    const px = new Uint8Array(n * 784);
    for (let i = 0; i < px.length; i++) px[i] = Math.round(x[i] * 255);
    writeFileSync(join(dir, img), encodeIdx([n, 28, 28], px));
    writeFileSync(join(dir, lab), encodeIdx([n], y.subarray(0, n)));
  };
  write(m.train.x, m.train.y, nTrain, FILES.trainImages, FILES.trainLabels);
  write(m.test.x, m.test.y, nTest, FILES.testImages, FILES.testLabels);
  return m.test.y.slice(0, nTest);
}

/** A random MNIST-style directory of any image size and class count; returns the test labels. */
export function writeRandomIdxDir(dir: string, o: { nTrain: number; nTest: number; rows: number; cols: number; classes: number; seed: number }): Int32Array {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(o.seed);
  const px = (n: number) => Uint8Array.from({ length: n * o.rows * o.cols }, () => rng.int(256));
  const labels = (n: number) => {
    const y = Uint8Array.from({ length: n }, () => rng.int(o.classes));
    y[0] = o.classes - 1; // the class count comes from the largest label
    return y;
  };
  const testY = labels(o.nTest);
  writeFileSync(join(dir, FILES.trainImages), encodeIdx([o.nTrain, o.rows, o.cols], px(o.nTrain)));
  writeFileSync(join(dir, FILES.trainLabels), encodeIdx([o.nTrain], labels(o.nTrain)));
  writeFileSync(join(dir, FILES.testImages), encodeIdx([o.nTest, o.rows, o.cols], px(o.nTest)));
  writeFileSync(join(dir, FILES.testLabels), encodeIdx([o.nTest], testY));
  return Int32Array.from(testY);
}
