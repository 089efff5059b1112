/**
 * Layers emit graph pieces. A module's `forward` adds nodes to a GraphBuilder through a
 * ForwardCtx, which decides what a parameter is (a fed input in a training step, an initialiser
 * in an inference graph) and supplies dropout masks (fed from TypeScript so runs are
 * reproducible from the seed).
 */
import type { GraphBuilder } from '../graph/builder.js';
import type { Shape, Value } from '../graph/ir.js';
import type { Rng } from '../util/rng.js';

export type InitKind = 'he' | 'glorot' | 'zeros' | 'ones';

export interface ParamSpec {
  /** Unique, deterministic name, e.g. 'fc1.weight'. */
  name: string;
  dims: number[];
  init: InitKind;
  fanIn: number;
  fanOut: number;
  /** L2 weight decay applies (weights, not biases or norm parameters). */
  decay: boolean;
  /** Axes over which a unit's incoming weight vector lies, for the max-norm constraint. */
  maxNormAxes?: number[];
}

/** Non-trained state updated by the forward pass in training (BatchNorm running statistics). */
export interface BufferSpec {
  name: string;
  dims: number[];
  init: 'zeros' | 'ones';
}

export interface ForwardCtx {
  g: GraphBuilder;
  training: boolean;
  param(spec: ParamSpec): Value;
  buffer(spec: BufferSpec): Value;
  /** Record the updated value of a buffer (training only). */
  setBuffer(name: string, v: Value): void;
  /**
   * A dropout mask for a tensor of shape [N, ...rest]: 0 or 1/(1−p), fed per step. Returns null
   * outside training.
   */
  dropoutMask(name: string, rest: number[], p: number): Value | null;
}

export interface Module {
  readonly kind: string;
  /** Output per-example shape for a per-example input shape. */
  outShape(inShape: number[]): number[];
  forward(ctx: ForwardCtx, x: Value, inShape: number[]): Value;
  /** Human-readable description. */
  describe(inShape: number[]): string;
}

/** Draw a parameter's initial values: He (ReLU nets) or Glorot normal, from a seeded Rng. */
export function initParam(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (spec.init) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'he': {
      const sd = Math.sqrt(2 / spec.fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.normal() * sd;
      return out;
    }
    case 'glorot': {
      const sd = Math.sqrt(2 / (spec.fanIn + spec.fanOut));
      for (let i = 0; i < n; i++) out[i] = rng.normal() * sd;
      return out;
    }
  }
}

export function batchShape(inShape: number[]): Shape {
  return ['N', ...inShape];
}
