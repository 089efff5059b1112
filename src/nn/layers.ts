/** The layers: Linear, Conv2d, pools, activations, Dropout, BatchNorm, Flatten, Sequential, Residual. */
import type { Value } from '../graph/ir.js';
import type { ForwardCtx, InitKind, Module } from './module.js';

const prod = (a: number[]) => a.reduce((p, q) => p * q, 1);

/** y = x·W + b with W stored [in, out] (ONNX Gemm without transB). */
export class Linear implements Module {
  readonly kind = 'linear';
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly init: InitKind = 'he',
    readonly bias = true,
  ) {
    if (!(inFeatures > 0 && outFeatures > 0)) throw new RangeError(`Linear '${name}': sizes must be > 0`);
  }
  outShape(inShape: number[]): number[] {
    if (prod(inShape) !== this.inFeatures) throw new RangeError(`Linear '${this.name}': expected ${this.inFeatures} inputs, got [${inShape}]`);
    return [this.outFeatures];
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    const W = ctx.param({
      name: `${this.name}.weight`,
      dims: [this.inFeatures, this.outFeatures],
      init: this.init,
      fanIn: this.inFeatures,
      fanOut: this.outFeatures,
      decay: true,
      maxNormAxes: [0],
    });
    const inputs: Value[] = [x, W];
    if (this.bias) {
      inputs.push(ctx.param({ name: `${this.name}.bias`, dims: [this.outFeatures], init: 'zeros', fanIn: this.inFeatures, fanOut: this.outFeatures, decay: false }));
    }
    return ctx.g.op('Gemm', inputs);
  }
  describe(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }
}

export interface Conv2dOptions {
  /** Channel groups (weight [out, in/group, k, k]); group = in = out is a depthwise convolution. */
  group?: number;
  /** A per-channel bias (default true; off before a BatchNorm, which has its own shift). */
  bias?: boolean;
}

/** 2-D convolution, weight [out, in/group, k, k], 'same'-style padding by default. */
export class Conv2d implements Module {
  readonly kind = 'conv2d';
  readonly group: number;
  readonly bias: boolean;
  constructor(
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride = 1,
    readonly pad = Math.floor(kernel / 2),
    opts: Conv2dOptions = {},
  ) {
    this.group = opts.group ?? 1;
    this.bias = opts.bias ?? true;
    if (!(Number.isInteger(this.group) && this.group >= 1 && inChannels % this.group === 0 && outChannels % this.group === 0)) {
      throw new RangeError(`Conv2d '${name}': group ${this.group} must divide both channel counts (${inChannels} in, ${outChannels} out)`);
    }
  }
  outShape(s: number[]): number[] {
    if (s.length !== 3 || s[0] !== this.inChannels) throw new RangeError(`Conv2d '${this.name}': expected [${this.inChannels},H,W], got [${s}]`);
    const o = (d: number) => Math.floor((d + 2 * this.pad - this.kernel) / this.stride) + 1;
    if (o(s[1]) < 1 || o(s[2]) < 1) throw new RangeError(`Conv2d '${this.name}': a ${this.kernel}×${this.kernel} kernel does not fit a ${s[1]}×${s[2]} input`);
    return [this.outChannels, o(s[1]), o(s[2])];
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    const perGroup = this.inChannels / this.group;
    const fanIn = perGroup * this.kernel * this.kernel;
    const W = ctx.param({
      name: `${this.name}.weight`,
      dims: [this.outChannels, perGroup, this.kernel, this.kernel],
      init: 'he',
      fanIn,
      fanOut: (this.outChannels / this.group) * this.kernel * this.kernel,
      decay: true,
      maxNormAxes: [1, 2, 3],
    });
    const inputs = [x, W];
    if (this.bias) inputs.push(ctx.param({ name: `${this.name}.bias`, dims: [this.outChannels], init: 'zeros', fanIn, fanOut: this.outChannels, decay: false }));
    const p = this.pad;
    // group is written only when ≠ 1, so graphs of ungrouped convolutions stay as they were.
    return ctx.g.op('Conv', inputs, { kernel_shape: [this.kernel, this.kernel], strides: [this.stride, this.stride], pads: [p, p, p, p], ...(this.group === 1 ? {} : { group: this.group }) });
  }
  describe(s: number[]): string {
    const kind = this.group === 1 ? '' : this.group === this.inChannels ? ', depthwise' : `, ${this.group} groups`;
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernel}×${this.kernel}, stride ${this.stride}${kind}) → [${this.outShape(s)}]`;
  }
}

/** Mean over the spatial axes: [C, H, W] → [C, 1, 1] (ONNX GlobalAveragePool). */
export class GlobalAvgPool implements Module {
  readonly kind = 'globalavgpool';
  outShape(s: number[]): number[] {
    if (s.length !== 3) throw new RangeError(`GlobalAvgPool: expected [C,H,W], got [${s}]`);
    return [s[0], 1, 1];
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    return ctx.g.op('GlobalAveragePool', [x]);
  }
  describe(s: number[]): string {
    return `GlobalAveragePool → [${this.outShape(s)}]`;
  }
}

abstract class Pool2d implements Module {
  abstract readonly kind: string;
  constructor(
    readonly kernel: number,
    readonly stride = kernel,
  ) {}
  outShape(s: number[]): number[] {
    if (s.length !== 3) throw new RangeError(`${this.kind}: expected [C,H,W], got [${s}]`);
    const o = (d: number) => Math.floor((d - this.kernel) / this.stride) + 1;
    return [s[0], o(s[1]), o(s[2])];
  }
  abstract forward(ctx: ForwardCtx, x: Value): Value;
  describe(s: number[]): string {
    return `${this.kind}(${this.kernel}, stride ${this.stride}) → [${this.outShape(s)}]`;
  }
}

export class MaxPool2d extends Pool2d {
  readonly kind = 'maxpool2d';
  forward(ctx: ForwardCtx, x: Value): Value {
    const attrs = { kernel_shape: [this.kernel, this.kernel], strides: [this.stride, this.stride] };
    // Training keeps the Indices output: the exact gradient routes through it.
    return ctx.training ? ctx.g.opN('MaxPool', [x], 2, attrs)[0] : ctx.g.op('MaxPool', [x], attrs);
  }
}

export class AvgPool2d extends Pool2d {
  readonly kind = 'avgpool2d';
  forward(ctx: ForwardCtx, x: Value): Value {
    return ctx.g.op('AveragePool', [x], { kernel_shape: [this.kernel, this.kernel], strides: [this.stride, this.stride] });
  }
}

class Activation implements Module {
  constructor(
    readonly kind: string,
    readonly op: string,
    readonly attrs: Record<string, number> = {},
  ) {}
  outShape(s: number[]): number[] {
    return s;
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    return ctx.g.op(this.op, [x], this.attrs);
  }
  describe(): string {
    return this.op;
  }
}
export class ReLU extends Activation {
  constructor() {
    super('relu', 'Relu');
  }
}
export class Tanh extends Activation {
  constructor() {
    super('tanh', 'Tanh');
  }
}
export class LeakyReLU extends Activation {
  constructor(alpha = 0.01) {
    super('leakyrelu', 'LeakyRelu', { alpha });
  }
}

/** min(max(x, 0), 6) (MobileNet's activation), as ONNX Clip with constant bounds. */
export class ReLU6 implements Module {
  readonly kind = 'relu6';
  outShape(s: number[]): number[] {
    return s;
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    return ctx.g.op('Clip', [x, ctx.g.s(x, 0), ctx.g.s(x, 6)]);
  }
  describe(): string {
    return 'ReLU6';
  }
}

/**
 * Inverted dropout with a mask fed from TypeScript (0 or 1/(1−p)), so masks are reproducible
 * from the seed; the identity at inference.
 */
export class Dropout implements Module {
  readonly kind = 'dropout';
  constructor(
    readonly name: string,
    readonly p: number,
  ) {
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout '${name}': p must be in [0, 1), got ${p}`);
  }
  outShape(s: number[]): number[] {
    return s;
  }
  forward(ctx: ForwardCtx, x: Value, inShape: number[]): Value {
    if (this.p === 0) return x;
    const m = ctx.dropoutMask(this.name, inShape, this.p);
    return m ? ctx.g.mul(x, m) : x;
  }
  describe(): string {
    return `Dropout(${this.p})`;
  }
}

export class Flatten implements Module {
  readonly kind = 'flatten';
  outShape(s: number[]): number[] {
    return [prod(s)];
  }
  forward(ctx: ForwardCtx, x: Value, inShape: number[]): Value {
    return inShape.length === 1 ? x : ctx.g.op('Flatten', [x], { axis: 1 });
  }
  describe(): string {
    return 'Flatten';
  }
}

/** Reshape a flat [N, D] input to [N, ...shape] (e.g. MNIST vectors to images for a CNN). */
export class Reshape implements Module {
  readonly kind = 'reshape';
  constructor(readonly shape: number[]) {}
  outShape(s: number[]): number[] {
    if (prod(s) !== prod(this.shape)) throw new RangeError(`Reshape: cannot reshape [${s}] to [${this.shape}]`);
    return this.shape;
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    return ctx.g.reshape(x, [-1, ...this.shape]);
  }
  describe(): string {
    return `Reshape([${this.shape}])`;
  }
}

/**
 * Batch normalisation over axis 1 ([N,C] or [N,C,H,W]). Training uses batch statistics and
 * updates running ones (momentum m: running = m·running + (1−m)·batch; ONNX convention);
 * inference uses the running statistics.
 */
export class BatchNorm implements Module {
  readonly kind = 'batchnorm';
  constructor(
    readonly name: string,
    readonly channels: number,
    readonly momentum = 0.9,
    readonly eps = 1e-5,
  ) {}
  outShape(s: number[]): number[] {
    if (s[0] !== this.channels) throw new RangeError(`BatchNorm '${this.name}': expected ${this.channels} channels, got [${s}]`);
    return s;
  }
  forward(ctx: ForwardCtx, x: Value): Value {
    const C = this.channels;
    const scale = ctx.param({ name: `${this.name}.weight`, dims: [C], init: 'ones', fanIn: C, fanOut: C, decay: false });
    const bias = ctx.param({ name: `${this.name}.bias`, dims: [C], init: 'zeros', fanIn: C, fanOut: C, decay: false });
    const mean = ctx.buffer({ name: `${this.name}.running_mean`, dims: [C], init: 'zeros' });
    const variance = ctx.buffer({ name: `${this.name}.running_var`, dims: [C], init: 'ones' });
    if (!ctx.training) return ctx.g.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: this.eps });
    const [y, rm, rv] = ctx.g.opN('BatchNormalization', [x, scale, bias, mean, variance], 3, { epsilon: this.eps, momentum: this.momentum, training_mode: 1 });
    ctx.setBuffer(mean.name, rm);
    ctx.setBuffer(variance.name, rv);
    return y;
  }
  describe(): string {
    return `BatchNorm(${this.channels})`;
  }
}

export class Sequential implements Module {
  readonly kind = 'sequential';
  constructor(readonly layers: Module[]) {}
  outShape(s: number[]): number[] {
    return this.layers.reduce((sh, l) => l.outShape(sh), s);
  }
  forward(ctx: ForwardCtx, x: Value, inShape: number[]): Value {
    let h = x;
    let sh = inShape;
    for (const l of this.layers) {
      h = l.forward(ctx, h, sh);
      sh = l.outShape(sh);
    }
    return h;
  }
  describe(s: number[]): string {
    const lines: string[] = [];
    let sh = s;
    for (const l of this.layers) {
      lines.push(l.describe(sh));
      sh = l.outShape(sh);
    }
    return lines.join(' → ');
  }
}

/**
 * y = body(x) + shortcut(x) (the shortcut is the identity when absent), then `after` (e.g. a
 * ReLU): a residual block (He et al. 2016). The two branches must give the same shape.
 */
export class Residual implements Module {
  readonly kind = 'residual';
  constructor(
    readonly body: Module,
    readonly shortcut: Module | null,
    readonly after: Module | null = null,
  ) {}
  outShape(s: number[]): number[] {
    const a = this.body.outShape(s);
    const b = this.shortcut ? this.shortcut.outShape(s) : s;
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) throw new RangeError(`Residual: the body gives [${a}], the shortcut [${b}]`);
    return this.after ? this.after.outShape(a) : a;
  }
  forward(ctx: ForwardCtx, x: Value, inShape: number[]): Value {
    const y = this.body.forward(ctx, x, inShape);
    const sc = this.shortcut ? this.shortcut.forward(ctx, x, inShape) : x;
    const sum = ctx.g.add(y, sc);
    return this.after ? this.after.forward(ctx, sum, this.body.outShape(inShape)) : sum;
  }
  describe(s: number[]): string {
    const sc = this.shortcut ? this.shortcut.describe(s) : 'identity';
    return `Residual[${this.body.describe(s)} + ${sc}]${this.after ? ` → ${this.after.describe(this.body.outShape(s))}` : ''}`;
  }
}
