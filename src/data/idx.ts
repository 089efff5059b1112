/**
 * IDX files (the format of LeCun's MNIST distribution), plain or gzip.
 *
 * Layout: magic `00 00 TT NN` (TT = element type, NN = number of dimensions), then NN
 * big-endian uint32 dimension sizes, then the elements in row-major order, big-endian.
 * Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 * The file size must match the declared dimensions exactly.
 */
import { UsageError } from '../util/errors.js';
import { readFileBytes } from './files.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  /** Dimension sizes, outermost first. */
  dims: number[];
  type: IdxType;
  /** The type byte from the header (0x08 …). */
  typeCode: number;
  /** prod(dims) elements, native byte order. */
  data: IdxData;
}

interface TypeInfo {
  name: IdxType;
  bytes: number;
}

const TYPES: ReadonlyMap<number, TypeInfo> = new Map([
  [0x08, { name: 'uint8', bytes: 1 }],
  [0x09, { name: 'int8', bytes: 1 }],
  [0x0b, { name: 'int16', bytes: 2 }],
  [0x0c, { name: 'int32', bytes: 4 }],
  [0x0d, { name: 'float32', bytes: 4 }],
  [0x0e, { name: 'float64', bytes: 8 }],
] as [number, TypeInfo][]);

/** The IDX type code for a type name. */
export function idxTypeCode(type: IdxType): number {
  for (const [code, info] of TYPES) if (info.name === type) return code;
  throw new RangeError(`idxTypeCode: unknown type '${type}'`);
}

const hex = (b: number) => b.toString(16).padStart(2, '0');

/**
 * Parse IDX bytes (already gunzipped). `name` is used in error messages (the file path).
 * Throws UsageError for a wrong magic, an unknown type, a truncated header or a data size
 * that differs from what the dimensions declare.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4) {
    throw new UsageError(`${name}: not an IDX file: ${bytes.length} bytes, expected at least a 4-byte header`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const got = Array.from(bytes.subarray(0, 4), hex).join(' ');
    throw new UsageError(`${name}: not an IDX file: wrong magic ${got}, expected 00 00 <type> <ndims>`);
  }
  const typeCode = bytes[2];
  const info = TYPES.get(typeCode);
  if (!info) {
    throw new UsageError(
      `${name}: unknown IDX element type 0x${hex(typeCode)}, expected one of 08 (uint8), 09 (int8), 0b (int16), 0c (int32), 0d (float32), 0e (float64)`,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new UsageError(`${name}: IDX header declares 0 dimensions, expected at least 1`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new UsageError(
      `${name}: truncated IDX header: ${ndims} dimensions need ${headerBytes} header bytes, file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count * info.bytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'oversized';
    throw new UsageError(
      `${name}: ${what} IDX file: dims [${dims.join(', ')}] of ${info.name} need ${expected} bytes, file has ${bytes.length}`,
    );
  }
  return { dims, type: info.name, typeCode, data: decode(bytes, headerBytes, count, info) };
}

function decode(bytes: Uint8Array, off: number, count: number, info: TypeInfo): IdxData {
  // Single-byte types view the file's bytes (no copy); the buffer is ours alone.
  if (info.name === 'uint8') return bytes.subarray(off, off + count);
  if (info.name === 'int8') return new Int8Array(bytes.buffer, bytes.byteOffset + off, count);
  // Multi-byte types are big-endian in the file: copy (aligned) and swap on little-endian hosts.
  const copy = bytes.slice(off, off + count * info.bytes);
  if (littleEndianHost()) swapBytes(copy, info.bytes);
  switch (info.name) {
    case 'int16':
      return new Int16Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'float32':
      return new Float32Array(copy.buffer);
    default:
      return new Float64Array(copy.buffer);
  }
}

let leHost: boolean | undefined;
function littleEndianHost(): boolean {
  if (leHost === undefined) leHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return leHost;
}

/** Reverse the byte order of each `width`-byte element in place. */
function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i < b.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}

/** Read an IDX file (plain, or gzip detected by its 1f 8b magic whatever the extension). */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileBytes(path, 'IDX file'), path);
}

/**
 * Encode an IDX file (plain bytes; gzip them with node:zlib if wanted). Used by tests and by
 * anyone exporting a dataset in MNIST's format.
 */
export function encodeIdx(dims: readonly number[], data: IdxData | ArrayLike<number>, type: IdxType = 'uint8'): Uint8Array {
  const code = idxTypeCode(type);
  const width = TYPES.get(code)!.bytes;
  if (dims.length < 1 || dims.length > 255) throw new RangeError(`encodeIdx: dims must have 1..255 entries, got ${dims.length}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`encodeIdx: bad dimension ${d}`);
    count *= d;
  }
  if (data.length !== count) throw new RangeError(`encodeIdx: data has ${data.length} elements, dims [${dims.join(', ')}] need ${count}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (type === 'uint8' && data instanceof Uint8Array) {
    out.set(data, header); // bytes as they are (fast path for images)
    return out;
  }
  for (let i = 0; i < count; i++) {
    const v = Number(data[i]);
    const p = header + i * width;
    switch (type) {
      case 'uint8':
        view.setUint8(p, v);
        break;
      case 'int8':
        view.setInt8(p, v);
        break;
      case 'int16':
        view.setInt16(p, v, false);
        break;
      case 'int32':
        view.setInt32(p, v, false);
        break;
      case 'float32':
        view.setFloat32(p, v, false);
        break;
      case 'float64':
        view.setFloat64(p, v, false);
        break;
    }
  }
  return out;
}
