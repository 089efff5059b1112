/**
 * Graph builder: the one way the project makes graphs. Names are deterministic (a prefix plus a
 * counter), shapes and dtypes are inferred as each node is added (shapes.ts), constants become
 * initialisers so later passes can read them.
 */
import { type AttrValue, type DType, type Graph, type Node, type Shape, type TensorData, type Value, tensor } from './ir.js';
import { SHAPE_RULES, type OutInfo } from './shapes.js';

/** Attribute names that are floats in every op we use (ONNX needs an explicit FLOAT type). */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'momentum', 'gamma', 'lambd', 'bias', 'min', 'max']);

/** Wrap a number to force a FLOAT attribute. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const f = (x: number): FloatAttr => new FloatAttr(x);

export type AttrInput = number | number[] | string | FloatAttr | FloatAttr[] | TensorData | AttrValue;

export function toAttr(name: string, a: AttrInput): AttrValue {
  if (a instanceof FloatAttr) return { type: 'float', value: a.value };
  if (typeof a === 'number') return FLOAT_ATTRS.has(name) ? { type: 'float', value: a } : { type: 'int', value: a };
  if (typeof a === 'string') return { type: 'string', value: a };
  if (Array.isArray(a)) {
    if (a.length > 0 && a[0] instanceof FloatAttr) return { type: 'floats', value: (a as FloatAttr[]).map((x) => x.value) };
    return { type: 'ints', value: a as number[] };
  }
  if ('type' in a && 'value' in a) return a as AttrValue;
  return { type: 'tensor', value: a as TensorData };
}

export interface OpOptions {
  domain?: string;
  /** Output names (default: generated). */
  names?: string[];
  /** Explicit output types/shapes, for ops whose shape cannot be inferred statically. */
  out?: OutInfo[];
  /** The node's name (made unique if taken; default: generated from the op). */
  nodeName?: string;
}

export class GraphBuilder {
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, TensorData>();
  readonly values = new Map<string, Value>();
  private counters = new Map<string, number>();
  private scopes: string[] = [];
  metadata: Record<string, string> = {};

  constructor(
    readonly name = 'graph',
    readonly opset = 18,
  ) {}

  /** A fresh deterministic name: scope/prefix_k. */
  fresh(prefix: string): string {
    const base = [...this.scopes, prefix].join('/');
    for (;;) {
      const k = this.counters.get(base) ?? 0;
      this.counters.set(base, k + 1);
      const nm = k === 0 && !this.values.has(base) ? base : `${base}_${k}`;
      if (!this.values.has(nm)) return nm;
    }
  }

  /** Run fn with names prefixed by `scope/`. */
  scope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private define(v: Value): Value {
    if (this.values.has(v.name)) throw new RangeError(`value name '${v.name}' is already defined`);
    this.values.set(v.name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.define({ name, dtype, shape: [...shape] });
    this.inputs.push(v);
    return v;
  }

  /** A named initialiser (weights in an inference graph, or constants). */
  initializer(name: string, t: TensorData): Value {
    const v = this.define({ name, dtype: t.dtype, shape: [...t.dims] });
    this.initializers.set(name, t);
    return v;
  }

  /** An anonymous constant (deterministically named). */
  const(t: TensorData, prefix = 'const'): Value {
    return this.initializer(this.fresh(prefix), t);
  }

  scalar(x: number, dtype: DType = 'float32'): Value {
    return this.const(tensor(dtype, [], [x]), 'scalar');
  }

  ints(xs: number[]): Value {
    return this.const(tensor('int64', [xs.length], xs), 'ints');
  }

  constOf(v: Value | null | undefined): TensorData | undefined {
    return v ? this.initializers.get(v.name) : undefined;
  }

  get(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new RangeError(`no value named '${name}'`);
    return v;
  }

  /** Add a node with `n` outputs; returns them. */
  opN(op: string, inputs: (Value | null)[], n: number, attrs: Record<string, AttrInput> = {}, o: OpOptions = {}): Value[] {
    const at: Record<string, AttrValue> = {};
    for (const k of Object.keys(attrs)) at[k] = toAttr(k, attrs[k]);
    for (const x of inputs) {
      if (x && !this.values.has(x.name)) throw new RangeError(`${op}: input '${x.name}' is not defined in this graph`);
    }
    let infos = o.out;
    if (!infos) {
      const rule = SHAPE_RULES[op];
      if (!rule) throw new RangeError(`no shape rule for op '${op}'; pass explicit output shapes`);
      try {
        infos = rule({ inputs, attrs: at, constOf: (i) => this.constOf(inputs[i]), nOutputs: n });
      } catch (e) {
        throw new RangeError(`${op}(${inputs.map((x) => (x ? `${x.name}:[${x.shape}]` : '-')).join(', ')}): ${(e as Error).message}`);
      }
    }
    const nodeName = o.nodeName !== undefined && !this.nodes.some((m) => m.name === o.nodeName) ? o.nodeName : this.fresh(o.nodeName ?? op);
    const outs: Value[] = [];
    for (let i = 0; i < n; i++) {
      const nm = o.names?.[i] ?? (n === 1 ? nodeName + ':out' : `${nodeName}:out${i}`);
      outs.push(this.define({ name: nm, dtype: infos[i].dtype, shape: infos[i].shape }));
    }
    this.nodes.push({
      name: nodeName,
      op,
      domain: o.domain ?? (op === 'FusedMatMul' || op === 'FusedGemm' ? 'com.microsoft' : ''),
      inputs: inputs.map((x) => (x ? x.name : '')),
      outputs: outs.map((x) => x.name),
      attrs: at,
    });
    return outs;
  }

  op(op: string, inputs: (Value | null)[], attrs: Record<string, AttrInput> = {}, o: OpOptions = {}): Value {
    return this.opN(op, inputs, 1, attrs, o)[0];
  }

  /** Mark a value as a graph output, under `name` (an Identity renames it if needed). */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name && name !== v.name) {
      const producer = this.nodes.find((n) => n.outputs.includes(v.name));
      const isOutput = this.outputs.some((o) => o.name === v.name);
      // Rename a node's output in place (no Identity copy); otherwise copy with Identity.
      out = producer && !isOutput && !this.values.has(name) ? this.rename(v, name) : this.op('Identity', [v], {}, { names: [name] });
    }
    if (this.outputs.some((x) => x.name === out.name)) throw new RangeError(`'${out.name}' is already an output`);
    this.outputs.push(out);
    return out;
  }

  /** Rename a node output everywhere it is referenced. */
  private rename(v: Value, name: string): Value {
    const nv: Value = { name, dtype: v.dtype, shape: v.shape };
    this.values.delete(v.name);
    this.values.set(name, nv);
    for (const n of this.nodes) {
      n.outputs = n.outputs.map((y) => (y === v.name ? name : y));
      n.inputs = n.inputs.map((x) => (x === v.name ? name : x));
    }
    return nv;
  }

  // ---- small conveniences used everywhere ----
  add(a: Value, b: Value): Value {
    return this.op('Add', [a, b]);
  }
  sub(a: Value, b: Value): Value {
    return this.op('Sub', [a, b]);
  }
  mul(a: Value, b: Value): Value {
    return this.op('Mul', [a, b]);
  }
  div(a: Value, b: Value): Value {
    return this.op('Div', [a, b]);
  }
  neg(a: Value): Value {
    return this.op('Neg', [a]);
  }
  /** A scalar constant with a's dtype. */
  s(a: Value, x: number): Value {
    return this.scalar(x, a.dtype);
  }
  reduceSum(a: Value, axes: number[], keepdims = false): Value {
    return this.op('ReduceSum', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(a: Value, axes: number[], keepdims = false): Value {
    return this.op('ReduceMean', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reshape(a: Value, shape: number[]): Value {
    return this.op('Reshape', [a, this.ints(shape)]);
  }

  build(): Graph {
    return {
      name: this.name,
      opset: this.opset,
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      initializers: new Map(this.initializers),
      nodes: [...this.nodes],
      values: new Map(this.values),
      metadata: { ...this.metadata },
    };
  }
}
