/**
 * The "look inside" page's files in a run directory (DIR/web/, written by `dk paper`), and the
 * decoder of its compact sample file. Browser-safe: no Node API here (the page imports it).
 *
 * samples.bin: 'DKS1', then u32 little-endian n, height, width; n label bytes; n·height·width
 * pixel bytes (row-major, 0..255, the dataset's pixels ×255 exactly: MNIST is uint8 to begin with).
 */
export const WEB_DIR = 'web';
export const MANIFEST = 'manifest.json';
export const SAMPLES_MAGIC = 'DKS1';

export interface WebModel {
  role: 'teacher' | 'student';
  /** File name inside DIR/web/. */
  file: string;
  spec: string;
  /** Weights stored in the file. */
  weights: number;
  bytes: number;
  testErrors: number;
  description: string;
}

export interface WebManifest {
  version: 1;
  temperature: number;
  classes: number;
  classNames: string[];
  models: WebModel[];
  samples: { file: string; n: number; height: number; width: number };
}

export interface Samples {
  n: number;
  height: number;
  width: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

export function encodeSamples(s: Samples): Uint8Array {
  const px = s.height * s.width;
  if (s.labels.length !== s.n || s.pixels.length !== s.n * px) throw new RangeError(`samples: expected ${s.n} labels and ${s.n * px} pixels, got ${s.labels.length} and ${s.pixels.length}`);
  const out = new Uint8Array(16 + s.n + s.n * px);
  out.set([...SAMPLES_MAGIC].map((c) => c.charCodeAt(0)));
  const v = new DataView(out.buffer);
  v.setUint32(4, s.n, true);
  v.setUint32(8, s.height, true);
  v.setUint32(12, s.width, true);
  out.set(s.labels, 16);
  out.set(s.pixels, 16 + s.n);
  return out;
}

export function decodeSamples(bytes: Uint8Array): Samples {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < 16 || magic !== SAMPLES_MAGIC) throw new RangeError(`samples: not a samples file (expected magic ${SAMPLES_MAGIC}, got '${magic}')`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(4, true);
  const height = v.getUint32(8, true);
  const width = v.getUint32(12, true);
  const need = 16 + n + n * height * width;
  if (bytes.length !== need) throw new RangeError(`samples: expected ${need} bytes for ${n} images of ${height}×${width}, got ${bytes.length}`);
  return { n, height, width, labels: bytes.slice(16, 16 + n), pixels: bytes.slice(16 + n, need) };
}

/** Pixels 0..255 → the models' float input in [0,1], as the data loader scales them (i/255 in float32). */
export function pixelsToInput(pixels: ArrayLike<number>): Float32Array {
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] / 255;
  return x;
}

/** softmax(z/T) in float64. */
export function softmaxT(z: ArrayLike<number>, T: number): number[] {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i] / T);
  const e: number[] = [];
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    e.push(Math.exp(z[i] / T - m));
    s += e[i];
  }
  return e.map((x) => x / s);
}

/** The k largest probabilities with their classes, largest first. */
export function topK(p: readonly number[], k: number): { cls: number; p: number }[] {
  return p
    .map((v, cls) => ({ cls, p: v }))
    .sort((a, b) => b.p - a.p || a.cls - b.cls)
    .slice(0, k);
}
