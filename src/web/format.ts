/**
 * The "look inside" page's files in a run directory (DIR/web/, written by `dk paper`), and the
 * decoder of its compact sample file. Browser-safe: no Node API here (the page imports it).
 *
 * samples.bin: 'DKS1', then u32 little-endian n, height, width; n label bytes; n·height·width
 * pixel bytes (row-major, 0..255, the dataset's pixels ×255 exactly: MNIST is uint8 to begin with).
 *
 * distil.bin (the "Distil here" view's training data: the first n images of the run's training
 * set and its teacher's logits on them), all little-endian:
 *   offset 0   'DKD1'
 *          4   u32 n, height, width, classes, heldOut (the last heldOut rows are the held-out slice)
 *         24   n label bytes
 *   24+n       n·height·width pixel bytes (as in samples.bin)
 *   then zero bytes up to a multiple of 4, then n·classes float32: the teacher's logits, row i
 *   for image i (the run's teacher, as the run computed them for its students' soft targets).
 * For MNIST's 28×28 images that is 794 + 4·10 = 834 bytes per example (3000 examples: 2.4 MiB).
 */
export const WEB_DIR = 'web';
export const MANIFEST = 'manifest.json';
export const SAMPLES_MAGIC = 'DKS1';
export const DISTIL_MAGIC = 'DKD1';
export const DISTIL_FILE = 'distil.bin';

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
  /** The "Distil here" data (absent in runs written before it existed). */
  distil?: { file: string; n: number; heldOut: number; height: number; width: number; description: string };
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

/** The "Distil here" data: n images (the last heldOut held out), their labels, the teacher's logits. */
export interface DistilSet extends Samples {
  classes: number;
  heldOut: number;
  /** n × classes. */
  logits: Float32Array;
}

const DISTIL_HEADER = 24;
const pad4 = (k: number) => (k + 3) & ~3;

export function encodeDistilSet(s: DistilSet): Uint8Array {
  const px = s.height * s.width;
  if (s.labels.length !== s.n || s.pixels.length !== s.n * px || s.logits.length !== s.n * s.classes) {
    throw new RangeError(`distil set: expected ${s.n} labels, ${s.n * px} pixels and ${s.n * s.classes} logits, got ${s.labels.length}, ${s.pixels.length} and ${s.logits.length}`);
  }
  if (!(Number.isInteger(s.heldOut) && s.heldOut >= 1 && s.heldOut < s.n)) throw new RangeError(`distil set: heldOut must be an integer in 1..${s.n - 1}, got ${s.heldOut}`);
  const at = pad4(DISTIL_HEADER + s.n + s.n * px);
  const out = new Uint8Array(at + 4 * s.logits.length);
  out.set([...DISTIL_MAGIC].map((c) => c.charCodeAt(0)));
  const v = new DataView(out.buffer);
  [s.n, s.height, s.width, s.classes, s.heldOut].forEach((x, i) => v.setUint32(4 + 4 * i, x, true));
  out.set(s.labels, DISTIL_HEADER);
  out.set(s.pixels, DISTIL_HEADER + s.n);
  for (let i = 0; i < s.logits.length; i++) v.setFloat32(at + 4 * i, s.logits[i], true);
  return out;
}

export function decodeDistilSet(bytes: Uint8Array): DistilSet {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < DISTIL_HEADER || magic !== DISTIL_MAGIC) throw new RangeError(`distil set: not a distil file (expected magic ${DISTIL_MAGIC}, got '${magic}')`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [n, height, width, classes, heldOut] = [0, 1, 2, 3, 4].map((i) => v.getUint32(4 + 4 * i, true));
  const px = height * width;
  const at = pad4(DISTIL_HEADER + n + n * px);
  const need = at + 4 * n * classes;
  if (bytes.length !== need) throw new RangeError(`distil set: expected ${need} bytes for ${n} images of ${height}×${width} and ${classes} classes, got ${bytes.length}`);
  if (!(heldOut >= 1 && heldOut < n)) throw new RangeError(`distil set: heldOut ${heldOut} is not in 1..${n - 1}`);
  const logits = new Float32Array(n * classes);
  for (let i = 0; i < logits.length; i++) logits[i] = v.getFloat32(at + 4 * i, true);
  const labels = bytes.slice(DISTIL_HEADER, DISTIL_HEADER + n);
  for (let i = 0; i < n; i++) if (labels[i] >= classes) throw new RangeError(`distil set: label ${labels[i]} of image ${i} is not below the ${classes} classes`);
  return { n, height, width, classes, heldOut, labels, pixels: bytes.slice(DISTIL_HEADER + n, DISTIL_HEADER + n + n * px), logits };
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
