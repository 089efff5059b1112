/**
 * Image-folder datasets, the layout of torchvision's ImageFolder and Keras'
 * image_dataset_from_directory:
 *
 *   DIR/train/<class>/*.png|jpg|jpeg|webp
 *   DIR/test/<class>/*     (or DIR/val/<class>/* when there is no test/)
 *
 * Classes are the train sub-folder names in sorted order (label k = the k-th name); test
 * sub-folders must be among them. Examples are in class order, then file-name order. Hidden
 * entries (names starting with '.') and files with other extensions are ignored, as those
 * libraries do; a class folder without any image is an error.
 *
 * Decoding is done by sharp (libvips): every image becomes 8-bit, alpha dropped, then either
 * greyscale (1 channel) or sRGB (3 channels) — by default 1 when every image is grey and 3 when
 * any has colour — and, with a size, resized to exactly H×W (bilinear, aspect ratio not kept,
 * like torchvision's Resize((H, W)) and Keras' default). Without a size every image must have
 * the same size. Pixels become float32 in [0,1] in NCHW order, as the other loaders give them.
 *
 * The decoded tensors are cached on disk (`<cacheDir>/<key>.dki`, written atomically, only
 * after everything decoded), keyed by sha256 over the format version, the sharp/libvips
 * versions, the options, the class names, and every file's relative path, label, size and
 * modification time in nanoseconds (what git's index uses to notice a changed file): adding,
 * removing, renaming or rewriting any image gives another key. A cache file that fails its
 * checks (magic, key, lengths, payload sha256) is decoded again, with a log line.
 *
 * A flat folder of images (no class sub-folders) is an unlabeled image set, for transfer sets.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { Phase, type ProgressSink } from '../util/progress.js';
import { toUnitFloat } from './convert.js';
import type { DataSplit, Dataset } from './dataset.js';
import { describeFsError } from './files.js';

/** File extensions read as images (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;
/** The formats accepted (as sharp names them). */
const FORMATS = new Set(['png', 'jpeg', 'webp']);
const FORMAT_NAMES = 'PNG, JPEG or WebP';

export const IMAGE_CACHE_MAGIC = 'DKIC';
export const IMAGE_CACHE_VERSION = 1;
/** Default cache directory (shared with the teacher-output cache). */
export const DEFAULT_IMAGE_CACHE_DIR = '.dk-cache';
/** Images decoded at a time. */
const IN_FLIGHT = 8;

export interface ImageOptions {
  /** Resize every image to [height, width]; without it, all images must share one size. */
  size?: [number, number];
  /** 1 (greyscale) or 3 (sRGB); default: 1 when every image is grey, else 3. */
  channels?: 1 | 3;
  /** Where decoded tensors are cached (default '.dk-cache'); null: no cache. */
  cacheDir?: string | null;
  progress?: ProgressSink;
}

interface ImageFile {
  path: string;
  label: number;
  size: number;
  mtimeNs: bigint;
}

export interface ImageTree {
  root: string;
  classNames: string[];
  /** The test split's folder name: 'test', or 'val' when there is no test/. */
  testName: 'test' | 'val';
  train: ImageFile[];
  test: ImageFile[];
}

export function isImageFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith('.') && IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when `dir` has a `train/` sub-folder (the image-folder layout). */
export function isImageTree(dir: string): boolean {
  return isDir(join(dir, 'train'));
}

/** True when `dir` directly holds at least one image file (an unlabeled image set). */
export function isFlatImageDir(dir: string): boolean {
  return isDir(dir) && listNames(dir).some((n) => isImageFileName(n) && !isDir(join(dir, n)));
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    throw new UsageError(`${dir}: cannot list folder (${describeFsError(e)})`);
  }
}

function fileEntry(path: string, label: number): ImageFile {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (e) {
    throw new UsageError(`${path}: cannot read image (${describeFsError(e)})`);
  }
  return { path, label, size: Number(st.size), mtimeNs: st.mtimeNs };
}

/** The images of one class folder, sorted by name; an error when there are none. */
function classImages(dir: string, label: number): ImageFile[] {
  const names = listNames(dir).filter(isImageFileName);
  if (names.length === 0) throw new UsageError(`${dir}: empty class folder: no ${FORMAT_NAMES} files (${IMAGE_EXTENSIONS.join(' ')})`);
  return names.map((n) => fileEntry(join(dir, n), label));
}

/** Class sub-folders of a split folder; an image directly in it is an error (it has no class). */
function classFolders(splitDir: string): string[] {
  const names = listNames(splitDir);
  const stray = names.find((n) => isImageFileName(n) && !isDir(join(splitDir, n)));
  if (stray !== undefined) throw new UsageError(`${join(splitDir, stray)}: an image outside any class folder; expected ${splitDir}/<class>/<image>`);
  return names.filter((n) => isDir(join(splitDir, n)));
}

/** List an image-folder tree (no decoding): classes, and every file with its label. */
export function listImageTree(dir: string): ImageTree {
  const root = resolve(dir);
  const trainDir = join(root, 'train');
  const testName = isDir(join(root, 'test')) ? 'test' : isDir(join(root, 'val')) ? 'val' : null;
  if (testName === null) throw new UsageError(`${root}: image folder has train/ but neither test/ nor val/; expected ${root}/test/<class>/<image>`);
  const testDir = join(root, testName);
  const classNames = classFolders(trainDir);
  if (classNames.length < 2) {
    throw new UsageError(`${trainDir}: ${classNames.length === 0 ? 'no class folders' : `one class folder (${classNames[0]})`}; expected one sub-folder per class, at least 2`);
  }
  const train = classNames.flatMap((c, k) => classImages(join(trainDir, c), k));
  const test: ImageFile[] = [];
  for (const c of classFolders(testDir)) {
    const k = classNames.indexOf(c);
    if (k < 0) throw new UsageError(`${join(testDir, c)}: class '${c}' is not among the training classes (${trainDir} has ${classNames.join(', ')})`);
    test.push(...classImages(join(testDir, c), k));
  }
  if (test.length === 0) throw new UsageError(`${testDir}: no class folders; expected ${testDir}/<class>/<image>`);
  return { root, classNames, testName, train, test };
}

/** The images directly in `dir` (label 0 each), sorted by name. */
export function listFlatImages(dir: string): ImageFile[] {
  const root = resolve(dir);
  const names = listNames(root).filter((n) => isImageFileName(n) && !isDir(join(root, n)));
  if (names.length === 0) throw new UsageError(`${root}: no ${FORMAT_NAMES} files in this folder`);
  return names.map((n) => fileEntry(join(root, n), 0));
}

// ---- decoding -------------------------------------------------------------------------------

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Sharp | null = null;
/** sharp, loaded on first use (so commands that read no images never load libvips). */
async function loadSharp(): Promise<Sharp> {
  if (!sharpModule) sharpModule = (await import('sharp')).default;
  return sharpModule;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** The format from the first bytes: 'png', 'jpeg', 'webp', or the name of another known one, or null. */
export function sniffImageFormat(b: Uint8Array): string | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(0, 2) === 'BM') return 'BMP';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'TIFF';
  return null;
}

/** The file's bytes, refused unless they start as a PNG, JPEG or WebP file does. */
async function readImageBytes(f: ImageFile): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(f.path);
  } catch (e) {
    throw new UsageError(`${f.path}: cannot read image (${describeFsError(e)})`);
  }
  const kind = sniffImageFormat(bytes);
  if (kind === null || !FORMATS.has(kind)) {
    throw new UsageError(`${f.path}: not a readable ${FORMAT_NAMES} image (${kind ? `it is a ${kind} file` : bytes.length === 0 ? 'the file is empty' : 'unrecognised content'})`);
  }
  return bytes;
}

interface Header {
  width: number;
  height: number;
  colour: boolean;
}

async function readHeader(sharp: Sharp, f: ImageFile): Promise<Header> {
  const bytes = await readImageBytes(f);
  let m;
  try {
    m = await sharp(bytes).metadata();
  } catch (e) {
    throw new UsageError(`${f.path}: not a readable ${FORMAT_NAMES} image (${firstLine(e)})`);
  }
  if (!FORMATS.has(m.format ?? '')) throw new UsageError(`${f.path}: is a ${m.format ?? 'unknown'} image; expected ${FORMAT_NAMES}`);
  if (!m.width || !m.height) throw new UsageError(`${f.path}: image has no size`);
  const channels = (m.channels ?? 3) - (m.hasAlpha ? 1 : 0);
  return { width: m.width, height: m.height, colour: channels >= 3 };
}

/** Decode one image to C×H×W uint8 (planar) into `out` at `offset`. */
async function decodeInto(sharp: Sharp, f: ImageFile, C: 1 | 3, H: number, W: number, resize: boolean, out: Uint8Array, offset: number): Promise<void> {
  const bytes = await readImageBytes(f);
  let res: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let p = sharp(bytes, { failOn: 'warning' }).removeAlpha();
    p = C === 1 ? p.greyscale() : p.toColourspace('srgb');
    if (resize) p = p.resize({ width: W, height: H, fit: 'fill', kernel: 'linear' });
    res = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new UsageError(`${f.path}: not a readable ${FORMAT_NAMES} image (${firstLine(e)})`);
  }
  const { data, info } = res;
  if (info.width !== W || info.height !== H) {
    throw new UsageError(`${f.path}: image is ${info.height}x${info.width} (HxW) when decoded, expected ${H}x${W}`);
  }
  const c = info.channels;
  if (data.length !== H * W * c || (c !== C && c !== C + 1)) throw new UsageError(`${f.path}: decoded to ${c} channels, expected ${C}`);
  const plane = H * W;
  for (let k = 0; k < C; k++) {
    const o = offset + k * plane;
    for (let i = 0; i < plane; i++) out[o + i] = data[i * c + k];
  }
}

async function pool<T>(items: readonly T[], fn: (item: T, i: number) => Promise<void>, onDone: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const failed: { first?: { i: number; e: unknown } } = {};
  const record = (i: number, e: unknown) => {
    if (failed.first === undefined || i < failed.first.i) failed.first = { i, e };
  };
  const worker = async () => {
    while (failed.first === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        // Of the failures seen, report the first in file order, so the message is stable.
        record(i, e);
        return;
      }
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, worker));
  if (failed.first !== undefined) throw failed.first.e;
}

interface Decoded {
  shape: [number, number, number];
  /** Per part, n × C×H×W uint8. */
  pixels: Uint8Array[];
}

/** Decode several lists of images to one common shape; errors name the file. */
async function decodeAll(parts: ImageFile[][], o: ImageOptions, label: string, fixed?: { channels?: 1 | 3; hw?: [number, number] }): Promise<Decoded> {
  const sharp = await loadSharp();
  const sink = o.progress ?? (() => {});
  const all = parts.flat();
  const total = all.length;
  let C = fixed?.channels ?? o.channels;
  let hw = o.size;
  // Pass 1 (headers only) when the channel count or the size must come from the images.
  if (C === undefined || hw === undefined) {
    const phase = new Phase(sink, `${label}:headers`, `${label}: reading headers`, total);
    const heads: Header[] = new Array(total);
    try {
      await pool(all, async (f, i) => {
        heads[i] = await readHeader(sharp, f);
      }, (d) => phase.tick(d));
    } finally {
      phase.stop();
    }
    if (C === undefined) C = heads.some((h) => h.colour) ? 3 : 1;
    if (hw === undefined) {
      const h0 = heads[0];
      const j = heads.findIndex((h) => h.width !== h0.width || h.height !== h0.height);
      if (j >= 0) {
        throw new UsageError(
          { detail: `${all[j].path} is ${heads[j].height}x${heads[j].width} (HxW), but ${all[0].path} is ${h0.height}x${h0.width}; images differ in size: resize them all with {images.size}` },
        );
      }
      hw = [h0.height, h0.width];
    }
  }
  const [H, W] = hw;
  if (fixed?.hw && (fixed.hw[0] !== H || fixed.hw[1] !== W)) {
    throw new UsageError({ detail: `${all[0].path}: images are ${H}x${W} (HxW), but the dataset's are ${fixed.hw[0]}x${fixed.hw[1]}; resize them to ${fixed.hw[0]}x${fixed.hw[1]} with {images.size}` });
  }
  const size = C * H * W;
  const pixels = parts.map((p) => new Uint8Array(p.length * size));
  const where: { part: number; row: number }[] = [];
  parts.forEach((p, k) => p.forEach((_, r) => where.push({ part: k, row: r })));
  const phase = new Phase(sink, `${label}:decode`, `${label}: decoding`, total);
  try {
    await pool(all, (f, i) => decodeInto(sharp, f, C!, H, W, o.size !== undefined, pixels[where[i].part], where[i].row * size), (d) => phase.tick(d));
  } finally {
    phase.stop();
  }
  return { shape: [C, H, W], pixels };
}

// ---- the cache ------------------------------------------------------------------------------

function cacheKey(kind: string, root: string, classNames: string[], parts: ImageFile[][], o: ImageOptions, fixed?: { channels?: 1 | 3 }): string {
  const sharp = sharpModule!;
  const h = createHash('sha256');
  h.update(`dark-knowledge/images/v${IMAGE_CACHE_VERSION}\nkind=${kind}\nsharp=${sharp.versions.sharp} vips=${sharp.versions.vips}\n`);
  h.update(`channels=${fixed?.channels ?? o.channels ?? 'auto'} size=${o.size ? o.size.join('x') : 'native'} resize=linear,fill\n`);
  h.update(`classes=${JSON.stringify(classNames)}\n`);
  parts.forEach((p, k) => {
    h.update(`part ${k}: ${p.length}\n`);
    for (const f of p) h.update(`${f.label}\t${relative(root, f.path)}\t${f.size}\t${f.mtimeNs}\n`);
  });
  return h.digest('hex');
}

interface CacheMeta {
  key: string;
  shape: [number, number, number];
  counts: number[];
  payloadSha256: string;
}

/** File layout: 'DKIC', u32 version, u32 metaLen, meta JSON (zero-padded to 4), then per part its pixels. */
function encodeCache(key: string, d: Decoded): Uint8Array {
  const payload = createHash('sha256');
  for (const p of d.pixels) payload.update(p);
  const meta: CacheMeta = { key, shape: d.shape, counts: d.pixels.map((p) => p.length / (d.shape[0] * d.shape[1] * d.shape[2])), payloadSha256: payload.digest('hex') };
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const metaLen = Math.ceil(metaBytes.length / 4) * 4;
  const out = new Uint8Array(12 + metaLen + d.pixels.reduce((s, p) => s + p.length, 0));
  out.set(Buffer.from(IMAGE_CACHE_MAGIC, 'latin1'), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, IMAGE_CACHE_VERSION, true);
  dv.setUint32(8, metaLen, true);
  out.set(metaBytes, 12);
  let off = 12 + metaLen;
  for (const p of d.pixels) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function decodeCache(bytes: Uint8Array, key: string, parts: number): Decoded | string {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== IMAGE_CACHE_MAGIC) return 'bad magic';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(4, true) !== IMAGE_CACHE_VERSION) return 'other format version';
  const metaLen = dv.getUint32(8, true);
  if (12 + metaLen > bytes.length) return 'truncated';
  let meta: CacheMeta;
  try {
    meta = JSON.parse(Buffer.from(bytes.subarray(12, 12 + metaLen)).toString('utf8').replace(/\0+$/, '')) as CacheMeta;
  } catch {
    return 'corrupt header';
  }
  if (meta.key !== key) return 'key mismatch';
  if (!Array.isArray(meta.counts) || meta.counts.length !== parts || !Array.isArray(meta.shape) || meta.shape.length !== 3) return 'corrupt header';
  const size = meta.shape[0] * meta.shape[1] * meta.shape[2];
  let off = 12 + metaLen;
  if (bytes.length !== off + meta.counts.reduce((s, n) => s + n * size, 0)) return 'wrong length';
  const pixels: Uint8Array[] = [];
  const h = createHash('sha256');
  for (const n of meta.counts) {
    const p = bytes.subarray(off, off + n * size);
    h.update(p);
    pixels.push(p);
    off += n * size;
  }
  if (h.digest('hex') !== meta.payloadSha256) return 'payload checksum mismatch';
  return { shape: meta.shape, pixels };
}

/** Decode (or read from the cache) several lists of images. */
async function decodeCached(kind: string, root: string, classNames: string[], parts: ImageFile[][], o: ImageOptions, fixed?: { channels?: 1 | 3; hw?: [number, number] }): Promise<Decoded> {
  await loadSharp();
  const log = (text: string) => o.progress?.({ kind: 'log', text });
  const n = parts.reduce((s, p) => s + p.length, 0);
  const cacheDir = o.cacheDir === undefined ? DEFAULT_IMAGE_CACHE_DIR : o.cacheDir;
  const key = cacheKey(kind, root, classNames, parts, o, fixed);
  const file = cacheDir === null ? null : join(resolve(cacheDir), `${key}.dki`);
  if (file && existsSync(file)) {
    let r: Decoded | string;
    try {
      r = decodeCache(readFileSync(file), key, parts.length);
    } catch (e) {
      r = describeFsError(e);
    }
    if (typeof r !== 'string' && (!fixed?.hw || (r.shape[1] === fixed.hw[0] && r.shape[2] === fixed.hw[1]))) {
      log(`images ${root}: read ${n.toLocaleString('en')} decoded images [${r.shape}] from cache ${file}`);
      return r;
    }
    if (typeof r === 'string') log(`images ${root}: cache file ${file} is unusable (${r}); decoding again`);
  }
  const t0 = performance.now();
  log(`images ${root}: decoding ${n.toLocaleString('en')} files${file ? ` (no cached copy; will cache as ${file})` : ''}`);
  const d = await decodeAll(parts, o, 'images', fixed);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (file) {
    try {
      mkdirSync(resolve(cacheDir!), { recursive: true });
      writeFileAtomic(file, encodeCache(key, d));
      log(`images ${root}: decoded ${n.toLocaleString('en')} images [${d.shape}] in ${secs} s; cached as ${file}`);
    } catch (e) {
      log(`images ${root}: decoded in ${secs} s; could not write the cache (${firstLine(e)})`);
    }
  } else log(`images ${root}: decoded ${n.toLocaleString('en')} images [${d.shape}] in ${secs} s`);
  return d;
}

function toDataset(px: Uint8Array, files: ImageFile[], shape: number[], classes: number, classNames: string[] | undefined, source: string): Dataset {
  const ds: Dataset = {
    x: toUnitFloat(px, source),
    y: Int32Array.from(files, (f) => f.label),
    n: files.length,
    shape: [...shape],
    classes,
    source,
  };
  if (classNames) ds.classNames = [...classNames];
  return ds;
}

/** Load an image-folder tree (see the module comment) as a train/test split with class names. */
export async function loadImageTree(dir: string, o: ImageOptions = {}): Promise<DataSplit> {
  checkImageOptions(o);
  const tree = listImageTree(dir);
  const d = await decodeCached('tree', tree.root, tree.classNames, [tree.train, tree.test], o);
  const C = tree.classNames.length;
  return {
    train: toDataset(d.pixels[0], tree.train, d.shape, C, tree.classNames, `${tree.root}:train`),
    test: toDataset(d.pixels[1], tree.test, d.shape, C, tree.classNames, `${tree.root}:${tree.testName}`),
  };
}

/**
 * Load a flat folder of images as an unlabeled set shaped like `like` ([C,H,W]): its channel
 * count is taken from `like`, and its size must match (or `size` resizes). Labels are all 0
 * and mean nothing.
 */
export async function loadUnlabeledImages(dir: string, like: Pick<Dataset, 'shape' | 'classes' | 'classNames'>, o: ImageOptions = {}): Promise<Dataset> {
  checkImageOptions(o);
  if (like.shape.length !== 3 || (like.shape[0] !== 1 && like.shape[0] !== 3)) {
    throw new UsageError(`${dir}: a folder of images cannot be a transfer set for data of shape [${like.shape}]; expected images [1|3, H, W]`);
  }
  const files = listFlatImages(dir);
  const root = resolve(dir);
  const channels = like.shape[0] as 1 | 3;
  const hw: [number, number] = [like.shape[1], like.shape[2]];
  const d = await decodeCached('flat', root, [], [files], o, { channels, hw });
  return toDataset(d.pixels[0], files, d.shape, like.classes, like.classNames, `${root}:unlabeled`);
}

export function checkImageOptions(o: ImageOptions): void {
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new UsageError(`channels: expected 1 or 3, got ${String(o.channels)}`);
  if (o.size !== undefined) {
    const ok = Array.isArray(o.size) && o.size.length === 2 && o.size.every((v) => Number.isInteger(v) && v >= 1 && v <= 16384);
    if (!ok) throw new UsageError(`size: expected [height, width], positive integers up to 16384, got ${JSON.stringify(o.size)}`);
  }
}
