/**
 * Writes the page's files into a run directory (DIR/web/): the teacher's and the distilled
 * student's ONNX files, a few test images (samples.bin), the "Distil here" data (distil.bin: the
 * first images of the training set with the teacher's logits on them) and manifest.json.
 * `dk serve` serves them. Node side (fs); each file written atomically, the manifest last.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { countWeights } from '../graph/onnx.js';
import type { Network } from '../train/network.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DISTIL_FILE, MANIFEST, WEB_DIR, type WebManifest, type WebModel, encodeDistilSet, encodeSamples } from './format.js';

export interface RunModel {
  net: Network;
  testErrors: number;
  description: string;
}

/** The first `count` images of a dataset (or all), their pixels as bytes: x·255, which must be whole numbers. */
export function samplesOf(ds: Dataset, count: number): { n: number; height: number; width: number; labels: Uint8Array; pixels: Uint8Array } {
  const [h, w] = ds.shape.length === 3 ? [ds.shape[1], ds.shape[2]] : ds.shape.length === 2 ? ds.shape : [1, ds.shape[0]];
  if (ds.shape.length === 3 && ds.shape[0] !== 1) throw new RangeError(`samples: expected single-channel images, got shape [${ds.shape.join(', ')}]`);
  const n = Math.min(count, ds.n);
  const px = h * w;
  const pixels = new Uint8Array(n * px);
  for (let i = 0; i < n * px; i++) {
    const b = Math.round(ds.x[i] * 255);
    if (Math.abs(b / 255 - ds.x[i]) > 1e-7) throw new RangeError(`samples: pixel ${i} (${ds.x[i]}) is not a multiple of 1/255`);
    pixels[i] = b;
  }
  const labels = Uint8Array.from(ds.y.subarray(0, n));
  return { n, height: h, width: w, labels, pixels };
}

export function writeRunWebAssets(
  out: string,
  a: {
    teacher: RunModel;
    student: RunModel;
    test: Dataset;
    temperature: number;
    samples?: number;
    /** The training set and the teacher's logits on it (row i for example i), for distil.bin. */
    train?: { data: Dataset; logits: Float32Array };
    /** Examples in distil.bin (default 3000, at most the training set's), of which the last heldOut (default a fifth, at most 500) are held out. */
    distil?: { n?: number; heldOut?: number };
  },
): string {
  const dir = join(out, WEB_DIR);
  mkdirSync(dir, { recursive: true });
  const models: WebModel[] = [];
  for (const [role, m] of [
    ['teacher', a.teacher],
    ['student', a.student],
  ] as const) {
    const bytes = m.net.toOnnx();
    const file = `${role}.onnx`;
    writeFileAtomic(join(dir, file), bytes);
    models.push({ role, file, spec: m.net.spec.spec, weights: countWeights(bytes), bytes: bytes.length, testErrors: m.testErrors, description: m.description });
  }
  const s = samplesOf(a.test, a.samples ?? 100);
  writeFileAtomic(join(dir, 'samples.bin'), encodeSamples(s));
  let distil: WebManifest['distil'];
  if (a.train) {
    const d = samplesOf(a.train.data, a.distil?.n ?? 3000);
    const C = a.train.data.classes;
    if (a.train.logits.length < d.n * C) throw new RangeError(`distil set: the teacher's logits hold ${a.train.logits.length / C} rows, fewer than the ${d.n} examples`);
    const heldOut = a.distil?.heldOut ?? Math.min(500, Math.floor(d.n / 5));
    const bytes = encodeDistilSet({ ...d, classes: C, heldOut, logits: a.train.logits.subarray(0, d.n * C) });
    writeFileAtomic(join(dir, DISTIL_FILE), bytes);
    const description = `the first ${d.n} images of the run's training set (${a.train.data.source}) with the teacher's logits on them; the last ${heldOut} are held out`;
    distil = { file: DISTIL_FILE, n: d.n, heldOut, height: d.height, width: d.width, description };
  }
  const manifest: WebManifest = {
    version: 1,
    temperature: a.temperature,
    classes: a.test.classes,
    classNames: a.test.classNames ?? Array.from({ length: a.test.classes }, (_, k) => String(k)),
    models,
    samples: { file: 'samples.bin', n: s.n, height: s.height, width: s.width },
    distil,
  };
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  return dir;
}
