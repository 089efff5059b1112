/**
 * An independent plain-JS float64 implementation of the small networks the engine tests use:
 * forward, softmax cross-entropy, backward and the optimiser updates, written from the textbook
 * formulas with loops — nothing here imports project code (llm.c's test_gpt2.c idea: compare the
 * engine's float32 graphs with a float64 reference).
 *
 * Conventions (the ones the project documents, re-implemented here):
 *   Linear: y = x·W + b, W stored [in, out].
 *   Conv2d: W [O, C, K, K], stride 1, zero padding p, bias per output channel.
 *   MaxPool 2×2 stride 2; ReLU applied after the pool.
 *   Loss: mean over the batch of −log softmax(z)_label.
 *   SGD (PyTorch): d = g + λ·w; v' = μ·v + d; w' = w − lr·v' (Nesterov: w' = w − lr·(d + μ·v')).
 *   Adam (Kingma & Ba 2015, Algorithm 1 with the "efficient" ordering of §2):
 *     m' = β1·m + (1−β1)·d; v' = β2·v + (1−β2)·d²; w' = w − lr·√(1−β2^t)/(1−β1^t)·m'/(√v' + ε).
 *     Adam: d = g + λ·w.  AdamW: d = g and w' −= lr·λ·w (decoupled, the old w).
 *   Max-norm: each unit's incoming weight vector is scaled to length ≤ c after the update.
 */

export type Params = Map<string, Float64Array>;

export function linearF(x: Float64Array, N: number, inF: number, outF: number, W: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(N * outF);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outF; o++) {
      let s = b[o];
      for (let i = 0; i < inF; i++) s += x[n * inF + i] * W[i * outF + o];
      y[n * outF + o] = s;
    }
  }
  return y;
}

export function linearB(dy: Float64Array, x: Float64Array, N: number, inF: number, outF: number, W: Float64Array) {
  const dx = new Float64Array(N * inF);
  const dW = new Float64Array(inF * outF);
  const db = new Float64Array(outF);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[n * outF + o];
      db[o] += g;
      for (let i = 0; i < inF; i++) {
        dW[i * outF + o] += x[n * inF + i] * g;
        dx[n * inF + i] += g * W[i * outF + o];
      }
    }
  }
  return { dx, dW, db };
}

export function reluF(x: Float64Array): Float64Array {
  return x.map((v) => (v > 0 ? v : 0));
}

/** dy masked by where the ReLU's output was positive. */
export function reluB(dy: Float64Array, y: Float64Array): Float64Array {
  return dy.map((g, i) => (y[i] > 0 ? g : 0));
}

export interface ConvShape {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  K: number;
  pad: number;
}

export function convF(x: Float64Array, s: ConvShape, Wt: Float64Array, b: Float64Array): Float64Array {
  const { N, C, H, W, O, K, pad } = s;
  const Ho = H + 2 * pad - K + 1;
  const Wo = W + 2 * pad - K + 1;
  const y = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let acc = b[o];
          for (let c = 0; c < C; c++)
            for (let ki = 0; ki < K; ki++)
              for (let kj = 0; kj < K; kj++) {
                const r = i + ki - pad;
                const q = j + kj - pad;
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                acc += x[((n * C + c) * H + r) * W + q] * Wt[((o * C + c) * K + ki) * K + kj];
              }
          y[((n * O + o) * Ho + i) * Wo + j] = acc;
        }
  return y;
}

/** Weight and bias gradients of a convolution (the input gradient is not needed for a first layer). */
export function convB(dy: Float64Array, x: Float64Array, s: ConvShape) {
  const { N, C, H, W, O, K, pad } = s;
  const Ho = H + 2 * pad - K + 1;
  const Wo = W + 2 * pad - K + 1;
  const dW = new Float64Array(O * C * K * K);
  const db = new Float64Array(O);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const g = dy[((n * O + o) * Ho + i) * Wo + j];
          db[o] += g;
          for (let c = 0; c < C; c++)
            for (let ki = 0; ki < K; ki++)
              for (let kj = 0; kj < K; kj++) {
                const r = i + ki - pad;
                const q = j + kj - pad;
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                dW[((o * C + c) * K + ki) * K + kj] += g * x[((n * C + c) * H + r) * W + q];
              }
        }
  return { dW, db };
}

/** 2×2 max-pool, stride 2, over [N*C, H, W] planes; returns the output and each output's source index. */
export function pool2F(x: Float64Array, planes: number, H: number, W: number) {
  const Ho = Math.floor(H / 2);
  const Wo = Math.floor(W / 2);
  const y = new Float64Array(planes * Ho * Wo);
  const arg = new Int32Array(planes * Ho * Wo);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let best = -Infinity;
        let at = -1;
        for (let a = 0; a < 2; a++)
          for (let c = 0; c < 2; c++) {
            const k = (p * H + 2 * i + a) * W + 2 * j + c;
            if (x[k] > best) {
              best = x[k];
              at = k;
            }
          }
        y[(p * Ho + i) * Wo + j] = best;
        arg[(p * Ho + i) * Wo + j] = at;
      }
  return { y, arg };
}

export function pool2B(dy: Float64Array, arg: Int32Array, inSize: number): Float64Array {
  const dx = new Float64Array(inSize);
  for (let k = 0; k < dy.length; k++) dx[arg[k]] += dy[k];
  return dx;
}

/** Mean softmax cross-entropy and its gradient w.r.t. the logits. */
export function softmaxCE(z: Float64Array, labels: Int32Array, N: number, C: number): { loss: number; dz: Float64Array } {
  const dz = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let k = 0; k < C; k++) mx = Math.max(mx, z[n * C + k]);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[n * C + k] - mx);
    const lse = mx + Math.log(s);
    loss += lse - z[n * C + labels[n]];
    for (let k = 0; k < C; k++) dz[n * C + k] = (Math.exp(z[n * C + k] - lse) - (k === labels[n] ? 1 : 0)) / N;
  }
  return { loss: loss / N, dz };
}

/** ReLU MLP: sizes [in, h1, …, out]; layers named fc1…, and 'out' for the last. */
export function mlpLossGrad(P: Params, sizes: number[], x: Float64Array, labels: Int32Array, N: number): { loss: number; grads: Params } {
  const L = sizes.length - 1;
  const name = (l: number) => (l === L - 1 ? 'out' : `fc${l + 1}`);
  const acts: Float64Array[] = [x];
  for (let l = 0; l < L; l++) {
    const z = linearF(acts[l], N, sizes[l], sizes[l + 1], P.get(`${name(l)}.weight`)!, P.get(`${name(l)}.bias`)!);
    acts.push(l < L - 1 ? reluF(z) : z);
  }
  const { loss, dz } = softmaxCE(acts[L], labels, N, sizes[L]);
  const grads: Params = new Map();
  let d = dz;
  for (let l = L - 1; l >= 0; l--) {
    if (l < L - 1) d = reluB(d, acts[l + 1]);
    const r = linearB(d, acts[l], N, sizes[l], sizes[l + 1], P.get(`${name(l)}.weight`)!);
    grads.set(`${name(l)}.weight`, r.dW);
    grads.set(`${name(l)}.bias`, r.db);
    d = r.dx;
  }
  return { loss, grads };
}

/** conv(C→O, K×K, 'same' padding) → 2×2 max-pool → ReLU → flatten → Linear to `classes`. */
export function cnnLossGrad(
  P: Params,
  dims: { C: number; H: number; W: number; O: number; K: number; classes: number },
  x: Float64Array,
  labels: Int32Array,
  N: number,
): { loss: number; grads: Params } {
  const { C, H, W, O, K, classes } = dims;
  const cs: ConvShape = { N, C, H, W, O, K, pad: Math.floor(K / 2) };
  const conv = convF(x, cs, P.get('conv1.weight')!, P.get('conv1.bias')!);
  const { y: pooled, arg } = pool2F(conv, N * O, H, W);
  const h = reluF(pooled);
  const F = O * Math.floor(H / 2) * Math.floor(W / 2);
  const z = linearF(h, N, F, classes, P.get('out.weight')!, P.get('out.bias')!);
  const { loss, dz } = softmaxCE(z, labels, N, classes);
  const lin = linearB(dz, h, N, F, classes, P.get('out.weight')!);
  const dconv = pool2B(reluB(lin.dx, h), arg, conv.length);
  const cb = convB(dconv, x, cs);
  const grads: Params = new Map([
    ['conv1.weight', cb.dW],
    ['conv1.bias', cb.db],
    ['out.weight', lin.dW],
    ['out.bias', lin.db],
  ]);
  return { loss, grads };
}

export interface RefOptim {
  kind: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  maxNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Which parameters take weight decay and max-norm: weights, not biases. */
const isWeight = (name: string) => name.endsWith('.weight');

/** Rescale each unit's incoming weight vector to length ≤ c (Linear [in,out]: columns; Conv [O,…]: rows). */
function applyMaxNorm(name: string, w: Float64Array, dims: number[], c: number, count: { units: number; clipped: number }): void {
  if (dims.length === 2) {
    const [inF, outF] = dims;
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let i = 0; i < inF; i++) s += w[i * outF + o] ** 2;
      const f = Math.min(1, c / Math.max(Math.sqrt(s), 1e-12));
      count.units++;
      if (f < 1) count.clipped++;
      for (let i = 0; i < inF; i++) w[i * outF + o] *= f;
    }
  } else if (dims.length === 4) {
    const per = dims[1] * dims[2] * dims[3];
    for (let o = 0; o < dims[0]; o++) {
      let s = 0;
      for (let i = 0; i < per; i++) s += w[o * per + i] ** 2;
      const f = Math.min(1, c / Math.max(Math.sqrt(s), 1e-12));
      count.units++;
      if (f < 1) count.clipped++;
      for (let i = 0; i < per; i++) w[o * per + i] *= f;
    }
  } else throw new RangeError(`max-norm: unexpected dims for ${name}`);
}

/** Optimiser state and one update step, in float64. */
export class RefOptimizer {
  private s1 = new Map<string, Float64Array>();
  private s2 = new Map<string, Float64Array>();
  private t = 0;
  /** Max-norm bookkeeping over all steps: units checked, units rescaled. */
  readonly maxNormCount = { units: 0, clipped: 0 };
  constructor(
    readonly o: RefOptim,
    readonly dims: Map<string, number[]>,
  ) {}

  /** One update with the gradients G; `lr` overrides the configured rate for this step (schedules). */
  step(P: Params, G: Params, lr = this.o.lr): void {
    const o = { ...this.o, lr };
    this.t++;
    for (const [name, w] of P) {
      const g = G.get(name)!;
      const wd = isWeight(name) ? o.weightDecay : 0;
      if (!this.s1.has(name)) {
        this.s1.set(name, new Float64Array(w.length));
        this.s2.set(name, new Float64Array(w.length));
      }
      const m = this.s1.get(name)!;
      const v = this.s2.get(name)!;
      if (o.kind === 'sgd') {
        for (let i = 0; i < w.length; i++) {
          const d = g[i] + wd * w[i];
          m[i] = o.momentum * m[i] + d;
          const step = o.nesterov ? d + o.momentum * m[i] : m[i];
          w[i] -= o.lr * step;
        }
      } else {
        const ct = Math.sqrt(1 - o.beta2 ** this.t) / (1 - o.beta1 ** this.t);
        for (let i = 0; i < w.length; i++) {
          const d = o.kind === 'adam' ? g[i] + wd * w[i] : g[i];
          m[i] = o.beta1 * m[i] + (1 - o.beta1) * d;
          v[i] = o.beta2 * v[i] + (1 - o.beta2) * d * d;
          let nw = w[i] - o.lr * ct * (m[i] / (Math.sqrt(v[i]) + o.eps));
          if (o.kind === 'adamw') nw -= o.lr * wd * w[i];
          w[i] = nw;
        }
      }
      if (o.maxNorm > 0 && isWeight(name)) applyMaxNorm(name, w, this.dims.get(name)!, o.maxNorm, this.maxNormCount);
    }
  }
}
