/**
 * Model specs: short strings that name an architecture, with input and output sizes taken from
 * the data.
 *   mlp:H1,H2,...          ReLU MLP (flattened input), e.g. mlp:800,800
 *   linear                 softmax regression
 *   cnn:C1,C2[:F1,…][@K]   K×K 'same' convolutions (K odd, default 5) with C_i channels, each
 *                          followed by 2×2 max-pool and ReLU, then fully connected ReLU layers F_j,
 *                          e.g. cnn:32,64:1024, cnn:32,64:256@3
 *   resnet:C1,…,Cs[:B]     CIFAR-style ResNet (He et al. 2016): a 3×3 conv-BN-ReLU stem of C1
 *                          channels, s stages of B basic blocks (default 1) of C_i channels —
 *                          3×3 conv-BN-ReLU, 3×3 conv-BN, plus the input (identity, or a 1×1
 *                          stride-2 conv-BN where the shape changes), ReLU — the first block of
 *                          each stage after the first with stride 2; global average pooling and
 *                          one linear layer. resnet:16,32,64 is ResNet-8, resnet:16,32,64:3 ResNet-20.
 *   mobilenet:C1,C2,…      MobileNet-style (Howard et al. 2017): a 3×3 conv-BN-ReLU6 stem of C1
 *                          channels, then one depthwise-separable block per C_i (i ≥ 2): 3×3
 *                          depthwise conv-BN-ReLU6, 1×1 pointwise conv to C_i-BN-ReLU6, stride 2
 *                          where the channel count grows; global average pooling, linear layer.
 * Options: dropout on hidden layers (for resnet/mobilenet: before the linear layer), on the input,
 * BatchNorm after hidden layers (mlp/cnn; resnet and mobilenet always have it).
 */
import { UsageError } from '../util/errors.js';
import { BatchNorm, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU, ReLU6, Residual, Sequential, Tanh } from './layers.js';
import type { Module } from './module.js';

export interface ModelOptions {
  /** Dropout probability on hidden layers (0 = none). */
  dropout?: number;
  /** Dropout probability on the input (0 = none). */
  inputDropout?: number;
  batchNorm?: boolean;
  activation?: 'relu' | 'tanh';
}

export interface ModelSpec {
  spec: string;
  /** Per-example input shape as fed to the model ([D] for MLPs, [C,H,W] for CNNs). */
  inputShape: number[];
  classes: number;
  options: ModelOptions;
}

export interface ParsedSpec {
  kind: 'mlp' | 'cnn' | 'resnet' | 'mobilenet';
  /** Channel counts: cnn convolutions, resnet stem and stages, mobilenet stem and blocks. */
  conv: number[];
  /** Fully connected hidden sizes (mlp, cnn). */
  hidden: number[];
  /** Convolution kernel size (cnn: 5 unless given; 3 for resnet and mobilenet). */
  kernel: number;
  /** Basic blocks per resnet stage (1 otherwise). */
  blocks: number;
}

const FORMS = "'mlp:H1,H2,…', 'cnn:C1,C2[:F1,…][@K]', 'resnet:C1,C2,…[:B]', 'mobilenet:C1,C2,…' or 'linear'";

function sizes(s: string, what: string, full: string): number[] {
  if (s.trim() === '') return [];
  return s.split(',').map((t) => {
    const v = /^\s*\d+\s*$/.test(t) ? Number(t) : NaN;
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`model spec '${full}': ${what} must be positive integers, got '${t}'`);
    return v;
  });
}

export function parseSpec(spec: string): ParsedSpec {
  const s = spec.trim();
  const base = { conv: [] as number[], hidden: [] as number[], kernel: 5, blocks: 1 };
  if (s === 'linear') return { kind: 'mlp', ...base };
  const m = /^(mlp|cnn|resnet|mobilenet):(.*)$/.exec(s);
  if (!m) throw new UsageError(`model spec '${spec}' does not parse: expected ${FORMS}`);
  if (m[1] === 'mlp') {
    const hidden = sizes(m[2], 'hidden sizes', spec);
    if (hidden.length === 0) throw new UsageError(`model spec '${spec}': an mlp needs at least one hidden size (use 'linear' for none)`);
    return { kind: 'mlp', ...base, hidden };
  }
  if (m[1] === 'resnet') {
    const parts = m[2].split(':');
    if (parts.length > 2) throw new UsageError(`model spec '${spec}' does not parse: expected 'resnet:C1,C2,…[:B]' (B = blocks per stage)`);
    const conv = sizes(parts[0], 'stage channel counts', spec);
    if (conv.length === 0) throw new UsageError(`model spec '${spec}': a resnet needs at least one stage`);
    const b = parts.length === 2 ? sizes(parts[1], 'blocks per stage', spec) : [1];
    if (b.length !== 1) throw new UsageError(`model spec '${spec}': blocks per stage is one number, got '${parts[1]}'`);
    return { kind: 'resnet', ...base, conv, kernel: 3, blocks: b[0] };
  }
  if (m[1] === 'mobilenet') {
    const conv = sizes(m[2], 'channel counts', spec);
    if (conv.length < 2) throw new UsageError(`model spec '${spec}': a mobilenet needs the stem's channel count and at least one block's`);
    return { kind: 'mobilenet', ...base, conv, kernel: 3 };
  }
  let body = m[2];
  let kernel = 5;
  const at = /^(.*)@(.*)$/.exec(body);
  if (at) {
    body = at[1];
    kernel = /^\s*\d+\s*$/.test(at[2]) ? Number(at[2]) : NaN;
    if (!(Number.isInteger(kernel) && kernel >= 1 && kernel % 2 === 1)) throw new UsageError(`model spec '${spec}': the kernel size after '@' must be an odd positive integer, got '${at[2]}'`);
  }
  const parts = body.split(':');
  if (parts.length > 2) throw new UsageError(`model spec '${spec}' does not parse: expected 'cnn:C1,C2[:F1,…][@K]' (at most one ':' after the channel counts)`);
  const [c, f = ''] = parts;
  const conv = sizes(c, 'channel counts', spec);
  if (conv.length === 0) throw new UsageError(`model spec '${spec}': a cnn needs at least one convolution`);
  return { kind: 'cnn', ...base, conv, hidden: sizes(f, 'fully connected sizes', spec), kernel };
}

/** Whether a student/model argument names an ONNX file (src/train/student.ts) rather than a spec string. */
export function isModelFile(spec: string): boolean {
  return /\.onnx$/i.test(spec.trim());
}

/** The per-example input shape a spec's graph takes, given the data's image shape. */
export function modelInputShape(spec: string, dataShape: number[]): number[] {
  const p = parseSpec(spec);
  if (p.kind !== 'mlp') {
    if (dataShape.length !== 3) throw new UsageError(`model spec '${spec}' needs image data [C,H,W], got [${dataShape}]`);
    return dataShape;
  }
  return [dataShape.reduce((a, b) => a * b, 1)];
}

/** conv (no bias) → BatchNorm → activation, the unit of the resnet and mobilenet specs. */
function convBn(name: string, cin: number, cout: number, k: number, stride: number, act: (() => Module) | null, group = 1): Module[] {
  const layers: Module[] = [new Conv2d(name, cin, cout, k, stride, Math.floor(k / 2), { bias: false, group }), new BatchNorm(`${name}.bn`, cout)];
  if (act) layers.push(act());
  return layers;
}

/** The resnet body: stem, stages of basic blocks. */
function resnetLayers(p: ParsedSpec, inCh: number): Module[] {
  const layers = convBn('stem.conv', inCh, p.conv[0], 3, 1, () => new ReLU());
  let ch = p.conv[0];
  p.conv.forEach((c, s) => {
    for (let b = 0; b < p.blocks; b++) {
      const name = `stage${s + 1}.block${b + 1}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const body = new Sequential([...convBn(`${name}.conv1`, ch, c, 3, stride, () => new ReLU()), ...convBn(`${name}.conv2`, c, c, 3, 1, null)]);
      const shortcut = stride !== 1 || ch !== c ? new Sequential(convBn(`${name}.shortcut`, ch, c, 1, stride, null)) : null;
      layers.push(new Residual(body, shortcut, new ReLU()));
      ch = c;
    }
  });
  return layers;
}

/** The mobilenet body: stem, depthwise-separable blocks. */
function mobilenetLayers(p: ParsedSpec, inCh: number): Module[] {
  const relu6 = () => new ReLU6();
  const layers = convBn('stem.conv', inCh, p.conv[0], 3, 1, relu6);
  let ch = p.conv[0];
  p.conv.slice(1).forEach((c, i) => {
    const name = `block${i + 1}`;
    layers.push(...convBn(`${name}.dw`, ch, ch, 3, c > ch ? 2 : 1, relu6, ch));
    layers.push(...convBn(`${name}.pw`, ch, c, 1, 1, relu6));
    ch = c;
  });
  return layers;
}

export function buildModel(m: ModelSpec): Module {
  const p = parseSpec(m.spec);
  const o = m.options;
  const drop = o.dropout ?? 0;
  const inDrop = o.inputDropout ?? 0;
  for (const [k, v] of [
    ['dropout', drop],
    ['input dropout', inDrop],
  ] as const) {
    if (!(v >= 0 && v < 1)) throw new UsageError(`${k} must be in [0, 1), got ${v}`);
  }
  if (!(Number.isInteger(m.classes) && m.classes >= 2)) throw new UsageError(`classes must be an integer ≥ 2, got ${m.classes}`);
  const act = () => (o.activation === 'tanh' ? new Tanh() : new ReLU());
  const layers: Module[] = [];
  let shape = m.inputShape;
  if (inDrop > 0) layers.push(new Dropout('input.dropout', inDrop));
  if (p.kind === 'resnet' || p.kind === 'mobilenet') {
    if (o.batchNorm) throw new UsageError({ param: 'options.batchNorm', detail: `model spec '${m.spec}' already has BatchNorm after every convolution; {options.batchNorm} is for mlp and cnn specs` });
    // (No CLI flag sets the activation: a plain message in the API's words.)
    if (o.activation && o.activation !== 'relu') throw new UsageError(`options.activation ${o.activation}: model spec '${m.spec}' has its own activations; options.activation is for mlp and cnn specs`);
    layers.push(...(p.kind === 'resnet' ? resnetLayers(p, shape[0]) : mobilenetLayers(p, shape[0])), new GlobalAvgPool(), new Flatten());
    if (drop > 0) layers.push(new Dropout('out.dropout', drop));
    layers.push(new Linear('out', p.conv[p.conv.length - 1], m.classes, 'glorot'));
    const net = new Sequential(layers);
    net.outShape(m.inputShape); // shape errors now, naming the layer
    return net;
  }
  if (p.kind === 'cnn') {
    let ch = shape[0];
    p.conv.forEach((c, i) => {
      layers.push(new Conv2d(`conv${i + 1}`, ch, c, p.kernel));
      if (o.batchNorm) layers.push(new BatchNorm(`conv${i + 1}.bn`, c));
      layers.push(new MaxPool2d(2));
      layers.push(act()); // ReLU commutes with max-pooling: a quarter of the work after the pool
      ch = c;
    });
    layers.push(new Flatten());
    shape = new Sequential(layers).outShape(m.inputShape);
  }
  let width = shape.reduce((a, b) => a * b, 1);
  p.hidden.forEach((h, i) => {
    layers.push(new Linear(`fc${i + 1}`, width, h));
    if (o.batchNorm) layers.push(new BatchNorm(`fc${i + 1}.bn`, h));
    layers.push(act());
    if (drop > 0) layers.push(new Dropout(`fc${i + 1}.dropout`, drop));
    width = h;
  });
  layers.push(new Linear('out', width, m.classes, 'glorot'));
  return new Sequential(layers);
}
