/** Image-folder trees for the tests, written from MNIST examples with sharp. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../../src/data/dataset.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** Encode an 8-bit image given as planar (C×H×W) pixels: C = 1 is written grey, C = 3 as sRGB. */
export async function encodeImage(px: Uint8Array, c: 1 | 3, h: number, w: number, format: ImageFormat): Promise<Buffer> {
  const hwc = new Uint8Array(h * w * c);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) hwc[i * c + k] = px[k * h * w + i];
  let p = sharp(hwc, { raw: { width: w, height: h, channels: c } });
  if (c === 1) p = p.toColourspace('b-w');
  if (format === 'png') return p.png().toBuffer();
  if (format === 'jpeg') return p.jpeg({ quality: 95 }).toBuffer();
  return p.webp({ lossless: true }).toBuffer();
}

/** Example i of an MNIST dataset as 8-bit pixels (the IDX bytes: x = byte / 255 exactly). */
export function mnistBytes(ds: Dataset, i: number): Uint8Array {
  const d = 784;
  return Uint8Array.from(ds.x.subarray(i * d, (i + 1) * d), (v) => Math.round(v * 255));
}

export interface TreeOptions {
  /** Class folder name of digit k (default: the digit). */
  names?: (k: number) => string;
  /** Format of digit k's images (default png). */
  format?: (k: number) => ImageFormat;
  /** Write grey (1) or RGB (3, grey replicated; or tinted with `tint`). */
  channels?: 1 | 3;
  /** Scale each RGB channel (e.g. [1, 0.5, 0.25]) so the channels differ. */
  tint?: [number, number, number];
}

/**
 * Write `DIR/<split>/<class>/<index>.<ext>` for the first nTrain/nTest examples of each split
 * (index zero-padded, so file order is example order within a class).
 */
export async function writeImageTree(dir: string, train: Dataset, test: Dataset, nTrain: number, nTest: number, o: TreeOptions = {}, testName = 'test'): Promise<void> {
  const names = o.names ?? ((k: number) => String(k));
  const format = o.format ?? (() => 'png' as const);
  const c = o.channels ?? 1;
  const write = async (ds: Dataset, n: number, split: string) => {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const k = ds.y[i];
      const folder = join(dir, split, names(k));
      mkdirSync(folder, { recursive: true });
      const g = mnistBytes(ds, i);
      let px = g;
      if (c === 3) {
        px = new Uint8Array(3 * 784);
        for (let ch = 0; ch < 3; ch++) for (let j = 0; j < 784; j++) px[ch * 784 + j] = Math.round(g[j] * (o.tint?.[ch] ?? 1));
      }
      const f = format(k);
      jobs.push(encodeImage(px, c, 28, 28, f).then((b) => writeFileSync(join(folder, `${String(i).padStart(5, '0')}.${f === 'jpeg' ? 'jpg' : f}`), b)));
    }
    await Promise.all(jobs);
  };
  await write(train, nTrain, 'train');
  await write(test, nTest, testName);
}
