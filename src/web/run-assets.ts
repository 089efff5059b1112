/**
 * Writes the "look inside" page's files into a run directory (DIR/web/): the teacher's and the
 * distilled student's ONNX files, a few test images (samples.bin) and manifest.json. `dk serve`
 * serves them. Node side (fs); each file written atomically, the manifest last.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { countWeights } from '../graph/onnx.js';
import type { Network } from '../train/network.js';
import { writeFileAtomic } from '../util/atomic.js';
import { MANIFEST, WEB_DIR, type WebManifest, type WebModel, encodeSamples } from './format.js';

export interface RunModel {
  net: Network;
  testErrors: number;
  description: string;
}

/** The first `count` test images (or all), their pixels as bytes: x·255, which must be whole numbers. */
export function samplesOf(test: Dataset, count: number): { n: number; height: number; width: number; labels: Uint8Array; pixels: Uint8Array } {
  const [h, w] = test.shape.length === 3 ? [test.shape[1], test.shape[2]] : test.shape.length === 2 ? test.shape : [1, test.shape[0]];
  if (test.shape.length === 3 && test.shape[0] !== 1) throw new RangeError(`samples: expected single-channel images, got shape [${test.shape.join(', ')}]`);
  const n = Math.min(count, test.n);
  const px = h * w;
  const pixels = new Uint8Array(n * px);
  for (let i = 0; i < n * px; i++) {
    const b = Math.round(test.x[i] * 255);
    if (Math.abs(b / 255 - test.x[i]) > 1e-7) throw new RangeError(`samples: pixel ${i} (${test.x[i]}) is not a multiple of 1/255`);
    pixels[i] = b;
  }
  const labels = Uint8Array.from(test.y.subarray(0, n));
  return { n, height: h, width: w, labels, pixels };
}

export function writeRunWebAssets(
  out: string,
  a: { teacher: RunModel; student: RunModel; test: Dataset; temperature: number; samples?: number },
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
  const manifest: WebManifest = {
    version: 1,
    temperature: a.temperature,
    classes: a.test.classes,
    classNames: a.test.classNames ?? Array.from({ length: a.test.classes }, (_, k) => String(k)),
    models,
    samples: { file: 'samples.bin', n: s.n, height: s.height, width: s.width },
  };
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  return dir;
}
