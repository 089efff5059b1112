/**
 * Graph IR: values with dtype and shape, nodes, initialisers. Independent of protobuf — see
 * onnx.ts for (de)serialisation. Dimensions are numbers or symbols ('N' for the batch);
 * '?' is an unknown dimension that never compares equal to anything.
 */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';
export type Dim = number | string;
export type Shape = Dim[];

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorData };

export interface Node {
  name: string;
  op: string;
  domain: string;
  inputs: string[]; // '' marks an omitted optional input
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface Graph {
  name: string;
  opset: number;
  inputs: Value[];
  outputs: Value[];
  initializers: Map<string, TensorData>;
  nodes: Node[];
  /** Every value's type and shape, by name (inputs, initialisers, node outputs). */
  values: Map<string, Value>;
  /** Free-form string metadata stored in the model (sorted on write for determinism). */
  metadata?: Record<string, string>;
  /** The model's producer_name as read from a file (e.g. 'pytorch'); not written. */
  producer?: string;
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
    case 'uint8':
      return new Uint8Array(n);
  }
}

/** A typed array of `dtype` over an aligned, owned copy of little-endian raw bytes. */
export function typedFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const copy = new Uint8Array(bytes); // a real, aligned copy (Buffer.slice would only be a view)
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
    case 'float64':
      return new Float64Array(copy.buffer, 0, copy.byteLength / 8);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, copy.byteLength / 8);
    case 'int32':
      return new Int32Array(copy.buffer, 0, copy.byteLength / 4);
    default:
      return copy;
  }
}

export function tensor(dtype: DType, dims: number[], data?: TypedArray | number[]): TensorData {
  const n = numel(dims);
  let arr: TypedArray;
  if (data === undefined) arr = allocate(dtype, n);
  else if (Array.isArray(data)) {
    arr = allocate(dtype, n);
    if (dtype === 'int64') (arr as BigInt64Array).set(data.map((v) => BigInt(v)));
    else (arr as Float32Array).set(data);
  } else arr = data;
  if (arr.length !== n) throw new RangeError(`tensor: data has ${arr.length} elements, dims [${dims}] need ${n}`);
  return { dtype, dims: [...dims], data: arr };
}

export function shapeToString(s: Shape): string {
  return `[${s.join(',')}]`;
}
