/**
 * NumPy `.npy` files, format versions 1.0, 2.0 and 3.0, C order only
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic `\x93NUMPY`, major, minor, header length (uint16 LE in v1, uint32 LE in v2/v3), a
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }`
 * padded with spaces and a newline, then the raw elements. A `.npy.gz` is gunzipped first.
 */
import { UsageError } from '../util/errors.js';
import type { RawArray } from './convert.js';
import { readFileBytes } from './files.js';

export interface NpyArray {
  shape: number[];
  /** The dtype string from the header, e.g. '<f4'. */
  descr: string;
  data: RawArray;
}

type Ctor = { new (buf: ArrayBuffer): RawArray };

const KINDS: Record<string, Ctor> = {
  b1: Uint8Array,
  u1: Uint8Array,
  i1: Int8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  u8: BigUint64Array,
  i8: BigInt64Array,
  f4: Float32Array,
  f8: Float64Array,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse `.npy` bytes; `name` (the file) appears in every error. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UsageError(`${name}: not an NPY file: missing the \\x93NUMPY magic`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw new UsageError(`${name}: NPY format version ${major}.${bytes[7]} not supported, expected 1.x, 2.x or 3.x`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pre = major === 1 ? 10 : 12;
  if (bytes.length < pre) throw new UsageError(`${name}: truncated NPY header`);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < pre + hlen) {
    throw new UsageError(`${name}: truncated NPY header: needs ${pre + hlen} bytes, file has ${bytes.length}`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(pre, pre + hlen));
  const descrM = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortranM = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) {
    throw new UsageError(`${name}: malformed NPY header ${JSON.stringify(header.trim())}; expected descr, fortran_order and shape`);
  }
  if (fortranM[1] === 'True') {
    throw new UsageError(`${name}: Fortran-order NPY arrays are not supported; save with np.ascontiguousarray(a)`);
  }
  const descr = descrM[1];
  const dm = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  const ctor = dm ? KINDS[dm[2] + dm[3]] : undefined;
  if (!dm || !ctor) {
    throw new UsageError(
      `${name}: NPY dtype '${descr}' not supported; expected bool, (u)int8/16/32/64 or float32/float64 (e.g. '<f4', '|u1')`,
    );
  }
  const width = Number(dm[3]);
  const shape: number[] = [];
  for (const part of shapeM[1].split(',')) {
    const t = part.trim();
    if (t === '') continue;
    if (!/^\d+L?$/.test(t)) throw new UsageError(`${name}: bad NPY shape entry '${t}' in (${shapeM[1]})`);
    shape.push(parseInt(t, 10));
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const start = pre + hlen;
  const expected = start + count * width;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'oversized';
    throw new UsageError(
      `${name}: ${what} NPY file: shape (${shape.join(', ')}) of '${descr}' needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  const copy = bytes.slice(start, expected);
  const bigEndian = dm[1] === '>';
  const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (width > 1 && bigEndian === hostLE) {
    for (let i = 0; i < copy.length; i += width) {
      for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
        const t = copy[lo];
        copy[lo] = copy[hi];
        copy[hi] = t;
      }
    }
  }
  const data = new ctor(copy.buffer);
  if (dm[2] === 'b') {
    for (let i = 0; i < data.length; i++) {
      if ((data[i] as number) > 1) throw new UsageError(`${name}: bool element ${i} holds ${data[i]}, expected 0 or 1`);
    }
  }
  return { shape, descr, data };
}

/** Read a `.npy` file (or a gzip of one, detected by magic). */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileBytes(path, 'NPY file'), path);
}

/** Encode a C-order `.npy` (version 1.0) from a typed array; little-endian. */
export function encodeNpy(shape: readonly number[], data: RawArray): Uint8Array {
  const descrs: [Ctor, string][] = [
    [Uint8Array, '|u1'],
    [Int8Array, '|i1'],
    [Uint16Array, '<u2'],
    [Int16Array, '<i2'],
    [Uint32Array, '<u4'],
    [Int32Array, '<i4'],
    [BigUint64Array, '<u8'],
    [BigInt64Array, '<i8'],
    [Float32Array, '<f4'],
    [Float64Array, '<f8'],
  ];
  const d = descrs.find(([c]) => data instanceof c);
  if (!d) throw new TypeError('encodeNpy: unsupported array type');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpy: data has ${data.length} elements, shape needs ${count}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${d[1]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const hb = new TextEncoder().encode(header);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + hb.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, hb.length, true);
  out.set(hb, 10);
  out.set(body, 10 + hb.length);
  return out;
}
