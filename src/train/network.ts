/**
 * A network: a model spec, its module tree and its parameter values. It can emit its inference
 * graph (weights as initialisers; input 'input' in the data's natural shape, output 'logits')
 * and be rebuilt from such a file, since the spec travels in the model's metadata.
 */
import { GraphBuilder } from '../graph/builder.js';
import { type Graph, type TensorData, type Value, tensor } from '../graph/ir.js';
import { fromOnnxBytes, inferenceForm, patchInitializers, toOnnxBytes } from '../graph/onnx.js';
import { type ImportedGraph, ImportedModule, importStudent } from '../nn/imported.js';
import { sha256Hex } from '../util/hash.js';
import type { BufferSpec, ForwardCtx, Module, ParamSpec } from '../nn/module.js';
import { initParam } from '../nn/module.js';
import { type ModelSpec, buildModel } from '../nn/spec.js';
import { UsageError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export const SPEC_KEY = 'dark-knowledge.model';
/** Metadata key of the class names (a JSON array of strings, label k named [k]), when the data had them. */
export const CLASSES_KEY = 'dark-knowledge.classes';
/** Metadata key of a saved model's input layout when it is not the default (see InputLayout). */
export const LAYOUT_KEY = 'dark-knowledge.input-layout';

/**
 * A saved model's input when it takes channels-last images: 'input' [N, H, W, C] (pixels in
 * [0,1]), transposed to the network's own [N, C, H, W] (and flattened for an MLP) inside the
 * graph. Without it a saved model takes [N, ...inputShape].
 */
export interface InputLayout {
  layout: 'nhwc';
  /** The images' [C, H, W]. */
  image: [number, number, number];
}

/** The channels-last input layout for images of shape [C, H, W]; anything else is refused. */
export function nhwcLayout(imageShape: readonly number[], param = 'studentLayout'): InputLayout {
  if (imageShape.length !== 3 || !imageShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new UsageError({ param, value: 'nhwc', detail: `needs image data [C,H,W], got examples of shape [${imageShape}]` });
  }
  return { layout: 'nhwc', image: [imageShape[0], imageShape[1], imageShape[2]] };
}

export interface MaskSpec {
  name: string;
  rest: number[];
  p: number;
}

/** Walk the module once to list its parameters, buffers and dropout masks. */
export function collectSpecs(module: Module, inputShape: number[]): { params: ParamSpec[]; buffers: BufferSpec[]; masks: MaskSpec[] } {
  const g = new GraphBuilder('probe');
  const params: ParamSpec[] = [];
  const buffers: BufferSpec[] = [];
  const masks: MaskSpec[] = [];
  const ctx: ForwardCtx = {
    g,
    training: true,
    param: (s) => {
      if (params.some((p) => p.name === s.name)) throw new RangeError(`parameter '${s.name}' defined twice`);
      params.push(s);
      return g.input(s.name, 'float32', s.dims);
    },
    buffer: (s) => {
      buffers.push(s);
      return g.input(s.name, 'float32', s.dims);
    },
    setBuffer: () => {},
    dropoutMask: (name, rest, p) => {
      masks.push({ name, rest, p });
      return g.input(`mask/${name}`, 'float32', ['N', ...rest]);
    },
  };
  module.forward(ctx, g.input('input', 'float32', ['N', ...inputShape]), inputShape);
  return { params, buffers, masks };
}

export class Network {
  readonly module: Module;
  readonly paramSpecs: ParamSpec[];
  readonly bufferSpecs: BufferSpec[];
  readonly maskSpecs: MaskSpec[];
  /** Class names (label k is classNames[k]); saved in the model's metadata under CLASSES_KEY. */
  classNames?: string[];
  /** The saved model's input layout when not [N, ...inputShape] (toOnnx only; inferenceGraph is always the plain one). */
  exportLayout?: InputLayout;

  constructor(
    readonly spec: ModelSpec,
    readonly params: Map<string, Float32Array>,
    readonly buffers: Map<string, Float32Array>,
    /** The ONNX file of a student given as one (its graph is the module; see src/nn/imported.ts). */
    readonly imported?: ImportedGraph,
  ) {
    this.module = imported ? new ImportedModule(imported) : buildModel(spec);
    const s = collectSpecs(this.module, spec.inputShape);
    this.paramSpecs = s.params;
    this.bufferSpecs = s.buffers;
    this.maskSpecs = s.masks;
    for (const p of s.params) {
      const v = params.get(p.name);
      const n = p.dims.reduce((a, b) => a * b, 1);
      if (!v) throw new RangeError(`network is missing parameter '${p.name}'`);
      if (v.length !== n) throw new RangeError(`parameter '${p.name}' has ${v.length} values, expected ${n} [${p.dims}]`);
    }
  }

  /** A freshly initialised network (He/Glorot normal from the seed). */
  static create(spec: ModelSpec, seed: number): Network {
    const module = buildModel(spec);
    const s = collectSpecs(module, spec.inputShape);
    const rng = Rng.derive(seed, 'init');
    const params = new Map<string, Float32Array>();
    for (const p of s.params) params.set(p.name, initParam(p, rng));
    const buffers = new Map<string, Float32Array>();
    for (const b of s.buffers) {
      const n = b.dims.reduce((x, y) => x * y, 1);
      buffers.set(b.name, b.init === 'ones' ? new Float32Array(n).fill(1) : new Float32Array(n));
    }
    return new Network(spec, params, buffers);
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.length;
    return n;
  }

  clone(): Network {
    const cp = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, v.slice()]));
    const net = new Network(JSON.parse(JSON.stringify(this.spec)), cp(this.params), cp(this.buffers), this.imported);
    if (this.classNames) net.classNames = [...this.classNames];
    if (this.exportLayout) net.exportLayout = JSON.parse(JSON.stringify(this.exportLayout)) as InputLayout;
    return net;
  }

  /** Build the forward pass into g with parameters as initialisers (inference). */
  forwardInference(g: GraphBuilder, x: Value): Value {
    const dims = (name: string) => {
      const s = this.paramSpecs.find((p) => p.name === name) ?? this.bufferSpecs.find((b) => b.name === name);
      return s!.dims;
    };
    const ctx: ForwardCtx = {
      g,
      training: false,
      param: (s) => g.initializer(s.name, tensor('float32', dims(s.name), this.params.get(s.name)!)),
      buffer: (s) => g.initializer(s.name, tensor('float32', dims(s.name), this.buffers.get(s.name)!)),
      setBuffer: () => {},
      dropoutMask: () => null,
    };
    return this.module.forward(ctx, x, this.spec.inputShape);
  }

  /**
   * The standalone inference graph: 'input' [N, ...inputShape] float32 in [0,1] → 'logits' [N, C];
   * with `layout` (toOnnx passes exportLayout), 'input' is [N, H, W, C] instead.
   */
  inferenceGraph(layout?: InputLayout): Graph {
    const g = new GraphBuilder('dark_knowledge_model');
    let x: Value;
    if (layout) {
      const [C, H, W] = layout.image;
      const D = this.spec.inputShape.reduce((a, b) => a * b, 1);
      if (layout.layout !== 'nhwc' || C * H * W !== D || (this.spec.inputShape.length === 3 && this.spec.inputShape.join(',') !== layout.image.join(','))) {
        throw new RangeError(`input layout ${JSON.stringify(layout)} does not fit a model taking [${this.spec.inputShape}]`);
      }
      x = g.op('Transpose', [g.input('input', 'float32', ['N', H, W, C])], { perm: [0, 3, 1, 2] });
      if (this.spec.inputShape.length !== 3) x = g.reshape(x, [-1, ...this.spec.inputShape]);
    } else x = g.input('input', 'float32', ['N', ...this.spec.inputShape]);
    g.output(this.forwardInference(g, x), 'logits');
    if (layout) g.metadata[LAYOUT_KEY] = JSON.stringify(layout);
    g.metadata[SPEC_KEY] = JSON.stringify(this.spec);
    if (this.classNames) {
      if (this.classNames.length !== this.spec.classes) throw new RangeError(`classNames: ${this.classNames.length} names for ${this.spec.classes} classes`);
      g.metadata[CLASSES_KEY] = JSON.stringify(this.classNames);
    }
    return g.build();
  }

  /**
   * The saved model: the inference graph with `exportLayout`'s input when set. A student given as
   * an ONNX file is saved as that file with the trained weights and BN statistics in place — same
   * graph, node names, inputs, outputs and opset — so whatever loaded the original loads it;
   * identical weights give an identical file. A training export is saved in inference form (BN on
   * its running statistics, Dropout off: graph/onnx.ts inferenceForm), which is how the student
   * was evaluated. (Its class names, if any, are not added to the file.)
   */
  toOnnx(): Uint8Array {
    if (this.imported) return inferenceForm(patchInitializers(this.imported.bytes, new Map([...this.params, ...this.buffers])));
    return toOnnxBytes(this.inferenceGraph(this.exportLayout));
  }

  /**
   * A student given as an ONNX file (any exporter): its float initializers are the parameters,
   * with the file's values as the starting point. UsageError naming `source` if it cannot be one.
   */
  static fromStudentFile(bytes: Uint8Array, source: string): Network {
    let graph: Graph;
    try {
      graph = fromOnnxBytes(bytes);
    } catch (e) {
      throw new UsageError(`${source}: ${(e as Error).message.split('\n')[0]}`);
    }
    const im = importStudent(bytes, graph, source);
    const take = (name: string) => (graph.initializers.get(name)!.data as Float32Array).slice();
    const params = new Map(im.params.map((p) => [p.name, take(p.name)]));
    const buffers = new Map(im.buffers.map((b) => [b.name, take(b.name)]));
    const spec: ModelSpec = { spec: `onnx:${sha256Hex(bytes).slice(0, 16)}`, inputShape: im.inputShape, classes: im.classes, options: {} };
    return new Network(spec, params, buffers, im);
  }

  /** Rebuild a network saved by `toOnnx` (needs our metadata). */
  static fromOnnx(bytes: Uint8Array, source = 'model'): Network {
    let graph: Graph;
    try {
      graph = fromOnnxBytes(bytes);
    } catch (e) {
      throw new UsageError(`${source}: ${(e as Error).message}`);
    }
    const meta = graph.metadata?.[SPEC_KEY];
    if (!meta) throw new UsageError(`${source}: not a dark-knowledge model (no '${SPEC_KEY}' metadata); it can still be used as a teacher`);
    const spec = parseSpecMetadata(meta, source);
    const params = new Map<string, Float32Array>();
    const buffers = new Map<string, Float32Array>();
    let probe: ReturnType<typeof collectSpecs>;
    try {
      probe = collectSpecs(buildModel(spec), spec.inputShape);
    } catch (e) {
      throw new UsageError(`${source}: its model metadata does not describe a buildable model: ${(e as Error).message.split('\n')[0]}`);
    }
    const get = (name: string, dims: number[]): Float32Array => {
      const t = graph.initializers.get(name);
      if (!t || t.dtype !== 'float32') throw new UsageError(`${source}: weight '${name}' is missing or not float32`);
      const n = dims.reduce((a, b) => a * b, 1);
      if (t.data.length !== n) throw new UsageError(`${source}: weight '${name}' has ${t.data.length} values, the model needs ${n} [${dims}]`);
      return (t as TensorData & { data: Float32Array }).data.slice();
    };
    for (const p of probe.params) params.set(p.name, get(p.name, p.dims));
    for (const b of probe.buffers) buffers.set(b.name, get(b.name, b.dims));
    const net = new Network(spec, params, buffers);
    const names = graph.metadata?.[CLASSES_KEY];
    if (names !== undefined) net.classNames = parseClassNames(names, spec.classes, source);
    const layout = graph.metadata?.[LAYOUT_KEY];
    if (layout !== undefined) {
      let v: unknown;
      try {
        v = JSON.parse(layout);
      } catch {
        v = null;
      }
      const l = v as InputLayout | null;
      const ok = !!l && l.layout === 'nhwc' && Array.isArray(l.image) && l.image.length === 3 && l.image.every((d) => Number.isInteger(d) && d >= 1) && l.image[0] * l.image[1] * l.image[2] === spec.inputShape.reduce((a, b) => a * b, 1);
      if (!ok) throw new UsageError(`${source}: corrupt '${LAYOUT_KEY}' metadata: expected {"layout":"nhwc","image":[C,H,W]} matching the model's input`);
      net.exportLayout = l!;
    }
    return net;
  }
}

/** The class names stored in a saved model's metadata: one string per class. */
function parseClassNames(meta: string, classes: number, source: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(meta);
  } catch (e) {
    throw new UsageError(`${source}: corrupt '${CLASSES_KEY}' metadata: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.length !== classes || !v.every((n) => typeof n === 'string')) {
    throw new UsageError(`${source}: corrupt '${CLASSES_KEY}' metadata: expected ${classes} class names (strings)`);
  }
  return v as string[];
}

/** The model spec stored in a saved model's metadata, checked field by field (a bad file is a UsageError). */
function parseSpecMetadata(meta: string, source: string): ModelSpec {
  const bad = (why: string) => new UsageError(`${source}: corrupt '${SPEC_KEY}' metadata: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(meta);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const o = v as Partial<ModelSpec> | null;
  if (!o || typeof o !== 'object') throw bad('expected a JSON object');
  if (typeof o.spec !== 'string') throw bad("'spec' must be a string");
  if (!Array.isArray(o.inputShape) || o.inputShape.length === 0 || !o.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw bad("'inputShape' must be a list of positive integers");
  }
  if (!Number.isInteger(o.classes)) throw bad("'classes' must be an integer");
  if (o.options !== undefined && (typeof o.options !== 'object' || o.options === null || Array.isArray(o.options))) throw bad("'options' must be an object");
  // Keep the object as parsed (key order included), so a reloaded model saves to the same bytes.
  if (o.options === undefined) o.options = {};
  return o as ModelSpec;
}
