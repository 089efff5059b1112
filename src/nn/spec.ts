/**
 * Model specs: short strings that name an architecture, with input and output sizes taken from
 * the data.
 *   mlp:H1,H2,...     ReLU MLP (flattened input), e.g. mlp:800,800
 *   linear            softmax regression
 *   cnn:C1,C2[:F1,…]  5×5 'same' convolutions with C_i channels, each followed by 2×2 max-pool
 *                     and ReLU, then fully connected ReLU layers F_j, e.g. cnn:32,64:1024
 * Options: dropout on hidden layers, on the input, BatchNorm after hidden layers.
 */
import { UsageError } from '../util/errors.js';
import { BatchNorm, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tanh } from './layers.js';
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
  kind: 'mlp' | 'cnn';
  conv: number[];
  hidden: number[];
}

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
  if (s === 'linear') return { kind: 'mlp', conv: [], hidden: [] };
  const m = /^(mlp|cnn):(.*)$/.exec(s);
  if (!m) throw new UsageError(`model spec '${spec}' does not parse: expected 'mlp:H1,H2,…', 'cnn:C1,C2[:F1,…]' or 'linear'`);
  if (m[1] === 'mlp') {
    const hidden = sizes(m[2], 'hidden sizes', spec);
    if (hidden.length === 0) throw new UsageError(`model spec '${spec}': an mlp needs at least one hidden size (use 'linear' for none)`);
    return { kind: 'mlp', conv: [], hidden };
  }
  const parts = m[2].split(':');
  if (parts.length > 2) throw new UsageError(`model spec '${spec}' does not parse: expected 'cnn:C1,C2[:F1,…]' (at most one ':' after the channel counts)`);
  const [c, f = ''] = parts;
  const conv = sizes(c, 'channel counts', spec);
  if (conv.length === 0) throw new UsageError(`model spec '${spec}': a cnn needs at least one convolution`);
  return { kind: 'cnn', conv, hidden: sizes(f, 'fully connected sizes', spec) };
}

/** Whether a student/model argument names an ONNX file (src/train/student.ts) rather than a spec string. */
export function isModelFile(spec: string): boolean {
  return /\.onnx$/i.test(spec.trim());
}

/** The per-example input shape a spec's graph takes, given the data's image shape. */
export function modelInputShape(spec: string, dataShape: number[]): number[] {
  const p = parseSpec(spec);
  if (p.kind === 'cnn') {
    if (dataShape.length !== 3) throw new UsageError(`model spec '${spec}' needs image data [C,H,W], got [${dataShape}]`);
    return dataShape;
  }
  return [dataShape.reduce((a, b) => a * b, 1)];
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
  if (p.kind === 'cnn') {
    let ch = shape[0];
    p.conv.forEach((c, i) => {
      layers.push(new Conv2d(`conv${i + 1}`, ch, c, 5));
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
