/**
 * ONNX (de)serialisation — the only module that touches protobuf. Writes are deterministic:
 * the same graph gives the same bytes (no timestamps, sorted metadata, raw little-endian data).
 */
import onnxProto from 'onnx-proto';
import { type AttrValue, type DType, type Graph, type Node, type Shape, type TensorData, type TypedArray, type Value, typedFromBytes } from './ir.js';
import { validateGraph } from './validate.js';

const { onnx } = onnxProto;

const DT_TO_ONNX: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };
const ONNX_TO_DT: Record<number, DType> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };

export const PRODUCER = 'dark-knowledge';

function num(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x && typeof x === 'object' && 'toNumber' in x) return (x as { toNumber(): number }).toNumber();
  return Number(x);
}

function tensorToProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims, dataType: DT_TO_ONNX[t.dtype], rawData: new Uint8Array(bytes) };
}

function protoToTensor(p: onnxProto.onnx.ITensorProto): TensorData {
  const dtype = ONNX_TO_DT[p.dataType ?? 0];
  if (!dtype) throw new RangeError(`tensor '${p.name}': unsupported data type ${p.dataType}`);
  const dims = (p.dims ?? []).map(num);
  if (p.rawData && p.rawData.length) return { dtype, dims, data: typedFromBytes(dtype, p.rawData) };
  if (p.externalData && p.externalData.length) throw new RangeError(`tensor '${p.name}' uses external data, which is not supported`);
  let data: TypedArray;
  switch (dtype) {
    case 'float32':
      data = Float32Array.from(p.floatData ?? []);
      break;
    case 'float64':
      data = Float64Array.from(p.doubleData ?? []);
      break;
    case 'int64':
      data = BigInt64Array.from((p.int64Data ?? []).map((x) => BigInt(num(x))));
      break;
    default:
      data = (dtype === 'int32' ? Int32Array : Uint8Array).from(p.int32Data ?? []);
  }
  return { dtype, dims, data };
}

function valueInfo(v: Value): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DT_TO_ONNX[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d === '?' ? undefined : d })) },
      },
    },
  };
}

function attrToProto(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorToProto('', a.value) };
  }
}

function protoToAttr(p: onnxProto.onnx.IAttributeProto): AttrValue | undefined {
  const T = onnx.AttributeProto.AttributeType;
  switch (p.type) {
    case T.INT:
      return { type: 'int', value: num(p.i) };
    case T.FLOAT:
      return { type: 'float', value: p.f ?? 0 };
    case T.INTS:
      return { type: 'ints', value: (p.ints ?? []).map(num) };
    case T.FLOATS:
      return { type: 'floats', value: p.floats ?? [] };
    case T.STRING:
      return { type: 'string', value: new TextDecoder().decode(p.s ?? new Uint8Array()) };
    case T.TENSOR:
      return p.t ? { type: 'tensor', value: protoToTensor(p.t) } : undefined;
    default:
      return undefined; // graphs/sparse tensors: kept out of our IR
  }
}

/** Serialise a graph as an ONNX model (validated first). */
export function toOnnxBytes(g: Graph): Uint8Array {
  validateGraph(g);
  const domains = new Set(g.nodes.map((n) => n.domain).filter((d) => d !== ''));
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: PRODUCER,
    opsetImport: [{ domain: '', version: g.opset }, ...[...domains].sort().map((d) => ({ domain: d, version: 1 }))],
    metadataProps: Object.keys(g.metadata ?? {})
      .sort()
      .map((k) => ({ key: k, value: g.metadata![k] })),
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain || undefined,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.keys(n.attrs).map((k) => attrToProto(k, n.attrs[k])),
      })),
      initializer: [...g.initializers].map(([name, t]) => tensorToProto(name, t)),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function protoValue(p: onnxProto.onnx.IValueInfoProto): Value {
  const tt = p.type?.tensorType;
  if (!tt) throw new RangeError(`value '${p.name}' is not a tensor`);
  const dtype = ONNX_TO_DT[tt.elemType ?? 0];
  if (!dtype) throw new RangeError(`value '${p.name}' has unsupported element type ${tt.elemType}`);
  const shape: Shape = (tt.shape?.dim ?? []).map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || '?',
  );
  return { name: p.name ?? '', dtype, shape };
}

/** Parse ONNX bytes into the IR. Throws a RangeError naming what is wrong if it is not ONNX. */
export function fromOnnxBytes(bytes: Uint8Array): Graph {
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new RangeError(`not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  const gp = m.graph;
  if (!gp || !gp.node) throw new RangeError('not an ONNX model (it has no graph)');
  const initializers = new Map<string, TensorData>();
  for (const t of gp.initializer ?? []) initializers.set(t.name ?? '', protoToTensor(t));
  const values = new Map<string, Value>();
  const inputs = (gp.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(protoValue);
  const outputs = (gp.output ?? []).map(protoValue);
  for (const v of [...inputs, ...outputs]) values.set(v.name, v);
  for (const vi of gp.valueInfo ?? []) {
    try {
      values.set(vi.name ?? '', protoValue(vi));
    } catch {
      /* non-tensor value info: ignore */
    }
  }
  for (const [name, t] of initializers) values.set(name, { name, dtype: t.dtype, shape: [...t.dims] });
  const nodes: Node[] = gp.node.map((n, i) => {
    const attrs: Record<string, AttrValue> = {};
    for (const a of n.attribute ?? []) {
      const v = protoToAttr(a);
      if (v) attrs[a.name ?? ''] = v;
    }
    return { name: n.name || `node_${i}`, op: n.opType ?? '', domain: n.domain ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attrs };
  });
  const opset = num((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return { name: gp.name ?? 'graph', opset, inputs, outputs, initializers, nodes, values, metadata, producer: m.producerName ?? undefined };
}

/**
 * `bytes` (an ONNX model) with the float32 initializers named in `values` replaced, and nothing
 * else changed: values stored as raw data are overwritten in place, so the file keeps every field,
 * order and byte it had (identical values give an identical file); others are re-encoded.
 * RangeError for a name that is not a float32 initializer of the model, or a size that differs.
 */
export function patchInitializers(bytes: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const out = new Uint8Array(bytes);
  const byName = new Map((m.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  let reencode = false;
  for (const [name, v] of values) {
    const t = byName.get(name);
    if (!t || t.dataType !== DT_TO_ONNX.float32) throw new RangeError(`'${name}' is not a float32 initializer of the model`);
    const n = (t.dims ?? []).map(num).reduce((a, b) => a * b, 1);
    if (n !== v.length) throw new RangeError(`initializer '${name}' holds ${n} values, got ${v.length}`);
    const raw = t.rawData;
    if (raw && raw.length === 4 * n && raw.buffer === bytes.buffer) {
      const dv = new DataView(out.buffer, out.byteOffset + (raw.byteOffset - bytes.byteOffset), 4 * n);
      for (let i = 0; i < n; i++) dv.setFloat32(4 * i, v[i], true);
    } else {
      t.floatData = [];
      t.rawData = new Uint8Array(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      reencode = true;
    }
  }
  if (!reencode) return out;
  // Float data stored as repeated floats: rewrite the model (field values kept, bytes may move).
  for (const [name, v] of values) {
    const t = byName.get(name)!;
    t.floatData = [];
    t.rawData = new Uint8Array(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return onnx.ModelProto.encode(m).finish();
}

/**
 * `bytes` in inference form: BatchNormalization nodes with training_mode=1 (a training export)
 * use their running statistics (training_mode 0, only the first output kept — the others must be
 * unused), and Dropout nodes lose their training_mode input (default: off). Node order, names,
 * graph inputs and outputs stay as they are; a model already in inference form is returned as is.
 */
export function inferenceForm(bytes: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  let changed = false;
  for (const n of m.graph?.node ?? []) {
    if (n.opType === 'BatchNormalization') {
      const tm = (n.attribute ?? []).find((a) => a.name === 'training_mode');
      if (tm && num(tm.i) !== 0) {
        n.attribute = (n.attribute ?? []).filter((a) => a.name !== 'training_mode' && a.name !== 'momentum');
        n.output = (n.output ?? []).slice(0, 1);
        changed = true;
      }
    } else if (n.opType === 'Dropout' && (n.input ?? []).length > 2 && n.input![2]) {
      n.input = n.input!.slice(0, 2);
      changed = true;
    }
  }
  return changed ? onnx.ModelProto.encode(m).finish() : bytes;
}

/** What a model file says about itself without being decoded into the IR (see scanOnnx). */
export interface OnnxFileInfo {
  /** metadata_props of the model. */
  metadata: Record<string, string>;
  /** External data files its tensors name (the 'location' entries), relative to the model file, in first-use order. */
  externalFiles: string[];
}

/**
 * Read a model's metadata and the external data files it refers to, without building the IR:
 * nothing here checks ops, dtypes or shapes (a model that onnxruntime runs may use any). Walks
 * initializers, sparse initializers, tensor attributes and subgraphs. Throws a RangeError if the
 * bytes are not an ONNX model.
 */
export function scanOnnx(bytes: Uint8Array): OnnxFileInfo {
  const m = decodeModel(bytes);
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  const files: string[] = [];
  forEachTensor(m.graph!, { attributes: true }, (t) => {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
    const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (loc && !files.includes(loc)) files.push(loc);
  });
  return { metadata, externalFiles: files };
}

/** Decode ONNX bytes; RangeError if they are not a model with a graph. */
function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new RangeError(`not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  if (!m.graph) throw new RangeError('not an ONNX model (it has no graph)');
  return m;
}

/**
 * Every tensor stored in graph `g` and its subgraphs: initializers and sparse initializers'
 * values and indices, and (with `attributes`) the tensors held in node attributes.
 */
function forEachTensor(g: onnxProto.onnx.IGraphProto, o: { attributes: boolean }, fn: (t: onnxProto.onnx.ITensorProto) => void): void {
  const visit = (t: onnxProto.onnx.ITensorProto | null | undefined) => t && fn(t);
  for (const t of g.initializer ?? []) visit(t);
  for (const sp of g.sparseInitializer ?? []) {
    visit(sp.values);
    visit(sp.indices);
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (o.attributes) {
        visit(a.t);
        for (const t of a.tensors ?? []) visit(t);
      }
      if (a.g) forEachTensor(a.g, o, fn);
      for (const sg of a.graphs ?? []) forEachTensor(sg, o, fn);
    }
  }
}

/** ONNX element types counted as weights: floats of every width, and 8/16-bit integers (quantised weights). */
const WEIGHT_TYPES = new Set([1, 2, 3, 4, 5, 10, 11, 16]);

/**
 * The number of weights a model stores: the elements of its float (and 8/16-bit integer, i.e.
 * quantised) initializers and sparse initializers, in the main graph and its subgraphs; int32/int64 tensors (shapes,
 * indices) are not counted. Reads the dims only, so tensors in external data files count too.
 * Throws a RangeError if the bytes are not an ONNX model.
 */
export function countWeights(bytes: Uint8Array): number {
  let total = 0;
  forEachTensor(decodeModel(bytes).graph!, { attributes: false }, (t) => {
    if (WEIGHT_TYPES.has(t.dataType ?? 0)) total += (t.dims ?? []).reduce((a: number, d) => a * num(d), 1);
  });
  return total;
}
