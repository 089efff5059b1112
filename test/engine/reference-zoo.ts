/**
 * An independent plain-JS float64 implementation of the small residual and depthwise-separable
 * networks (the `resnet:` and `mobilenet:` students): forward with BatchNorm in training mode,
 * softmax cross-entropy, backward, and the BatchNorm running statistics — written from the
 * textbook formulas with loops on a minimal tape, importing no project code (as reference-impl.ts
 * does for the MLP and CNN).
 *
 * Conventions re-implemented here (the ones the project documents):
 *   Conv: weight [O, C/group, K, K], stride s, zero padding ⌊K/2⌋, no bias (a BatchNorm follows).
 *   BatchNorm (training): per channel over batch and space, x̂ = (x − μ)/√(σ²_biased + ε), ε = 1e-5,
 *     y = γ·x̂ + β; running = 0.9·running + 0.1·batch (ONNX momentum 0.9, PyTorch's 0.1), with the
 *     biased batch variance.
 *   ReLU6 = min(max(x, 0), 6). Global average pooling over H×W. Linear: y = x·W + b, W [in, out].
 *   Loss: mean over the batch of −log softmax(z)_label.
 */
import type { Params } from './reference-impl.js';

export interface T {
  /** Values, NCHW (or [N, F] for flat tensors). */
  d: Float64Array;
  /** Accumulated gradient, same layout. */
  g: Float64Array;
  shape: number[];
}

const mk = (shape: number[], d?: Float64Array): T => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { d: d ?? new Float64Array(n), g: new Float64Array(n), shape };
};

/** A tape of backward closures over float64 tensors; parameters and their gradients by name. */
export class Tape {
  private back: (() => void)[] = [];
  readonly grads: Params = new Map();
  constructor(
    readonly P: Params,
    /** Running statistics, updated in place by each BatchNorm. */
    readonly R: Params,
  ) {}

  private param(name: string): { w: Float64Array; gw: Float64Array } {
    const w = this.P.get(name);
    if (!w) throw new Error(`reference: no parameter ${name}`);
    if (!this.grads.has(name)) this.grads.set(name, new Float64Array(w.length));
    return { w, gw: this.grads.get(name)! };
  }

  input(shape: number[], x: ArrayLike<number>): T {
    return mk(shape, Float64Array.from(x));
  }

  conv(x: T, name: string, O: number, K: number, stride: number, group = 1): T {
    const [N, C, H, W] = x.shape;
    const pad = Math.floor(K / 2);
    const Ho = Math.floor((H + 2 * pad - K) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad - K) / stride) + 1;
    const Cg = C / group;
    const Og = O / group;
    const { w, gw } = this.param(`${name}.weight`);
    if (w.length !== O * Cg * K * K) throw new Error(`reference: ${name}.weight has ${w.length} values`);
    const y = mk([N, O, Ho, Wo]);
    // Visit every (output, input, tap) triple once; f receives flat indices.
    const each = (f: (yi: number, xi: number, wi: number) => void) => {
      for (let n = 0; n < N; n++)
        for (let o = 0; o < O; o++) {
          const grp = Math.floor(o / Og);
          for (let i = 0; i < Ho; i++)
            for (let j = 0; j < Wo; j++) {
              const yi = ((n * O + o) * Ho + i) * Wo + j;
              for (let cc = 0; cc < Cg; cc++) {
                const c = grp * Cg + cc;
                for (let ki = 0; ki < K; ki++)
                  for (let kj = 0; kj < K; kj++) {
                    const r = i * stride + ki - pad;
                    const q = j * stride + kj - pad;
                    if (r < 0 || r >= H || q < 0 || q >= W) continue;
                    f(yi, ((n * C + c) * H + r) * W + q, ((o * Cg + cc) * K + ki) * K + kj);
                  }
              }
            }
        }
    };
    each((yi, xi, wi) => (y.d[yi] += x.d[xi] * w[wi]));
    this.back.push(() =>
      each((yi, xi, wi) => {
        x.g[xi] += y.g[yi] * w[wi];
        gw[wi] += y.g[yi] * x.d[xi];
      }),
    );
    return y;
  }

  batchNorm(x: T, name: string, eps = 1e-5, momentum = 0.9): T {
    const [N, C] = x.shape;
    const S = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const m = N * S;
    const { w: gamma, gw: dgamma } = this.param(`${name}.weight`);
    const { w: beta, gw: dbeta } = this.param(`${name}.bias`);
    const rm = this.R.get(`${name}.running_mean`)!;
    const rv = this.R.get(`${name}.running_var`)!;
    const y = mk(x.shape);
    const xhat = new Float64Array(x.d.length);
    const inv = new Float64Array(C);
    const at = (n: number, c: number, k: number) => (n * C + c) * S + k;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += x.d[at(n, c, k)];
      const mean = s / m;
      let q = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) q += (x.d[at(n, c, k)] - mean) ** 2;
      const varB = q / m;
      inv[c] = 1 / Math.sqrt(varB + eps);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < S; k++) {
          const i = at(n, c, k);
          xhat[i] = (x.d[i] - mean) * inv[c];
          y.d[i] = gamma[c] * xhat[i] + beta[c];
        }
      rm[c] = momentum * rm[c] + (1 - momentum) * mean;
      rv[c] = momentum * rv[c] + (1 - momentum) * varB;
    }
    this.back.push(() => {
      for (let c = 0; c < C; c++) {
        let sg = 0;
        let sgx = 0;
        for (let n = 0; n < N; n++)
          for (let k = 0; k < S; k++) {
            const i = at(n, c, k);
            sg += y.g[i];
            sgx += y.g[i] * xhat[i];
          }
        dbeta[c] += sg;
        dgamma[c] += sgx;
        // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
        for (let n = 0; n < N; n++)
          for (let k = 0; k < S; k++) {
            const i = at(n, c, k);
            x.g[i] += gamma[c] * inv[c] * (y.g[i] - sg / m - (xhat[i] * sgx) / m);
          }
      }
    });
    return y;
  }

  /** min(max(x, 0), hi): ReLU (hi = ∞) or ReLU6 (hi = 6). */
  clamp(x: T, hi = Infinity): T {
    const y = mk(x.shape, x.d.map((v) => Math.min(Math.max(v, 0), hi)));
    this.back.push(() => x.d.forEach((v, i) => (x.g[i] += v > 0 && v < hi ? y.g[i] : 0)));
    return y;
  }

  add(a: T, b: T): T {
    const y = mk(a.shape, a.d.map((v, i) => v + b.d[i]));
    this.back.push(() =>
      y.g.forEach((g, i) => {
        a.g[i] += g;
        b.g[i] += g;
      }),
    );
    return y;
  }

  /** [N, C, H, W] → [N, C]: mean over H×W. */
  globalAvgPool(x: T): T {
    const [N, C, H, W] = x.shape;
    const S = H * W;
    const y = mk([N, C]);
    for (let p = 0; p < N * C; p++) for (let k = 0; k < S; k++) y.d[p] += x.d[p * S + k] / S;
    this.back.push(() => {
      for (let p = 0; p < N * C; p++) for (let k = 0; k < S; k++) x.g[p * S + k] += y.g[p] / S;
    });
    return y;
  }

  linear(x: T, name: string, outF: number): T {
    const [N, inF] = x.shape;
    const { w, gw } = this.param(`${name}.weight`);
    const { w: b, gw: gb } = this.param(`${name}.bias`);
    const y = mk([N, outF]);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < outF; o++) {
        let s = b[o];
        for (let i = 0; i < inF; i++) s += x.d[n * inF + i] * w[i * outF + o];
        y.d[n * outF + o] = s;
      }
    this.back.push(() => {
      for (let n = 0; n < N; n++)
        for (let o = 0; o < outF; o++) {
          const g = y.g[n * outF + o];
          gb[o] += g;
          for (let i = 0; i < inF; i++) {
            gw[i * outF + o] += x.d[n * inF + i] * g;
            x.g[n * inF + i] += g * w[i * outF + o];
          }
        }
    });
    return y;
  }

  /** Mean softmax cross-entropy of logits z [N, C]; runs the whole backward pass. */
  lossAndBackward(z: T, labels: Int32Array): number {
    const [N, C] = z.shape;
    let loss = 0;
    for (let n = 0; n < N; n++) {
      let mx = -Infinity;
      for (let k = 0; k < C; k++) mx = Math.max(mx, z.d[n * C + k]);
      let s = 0;
      for (let k = 0; k < C; k++) s += Math.exp(z.d[n * C + k] - mx);
      const lse = mx + Math.log(s);
      loss += lse - z.d[n * C + labels[n]];
      for (let k = 0; k < C; k++) z.g[n * C + k] = (Math.exp(z.d[n * C + k] - lse) - (k === labels[n] ? 1 : 0)) / N;
    }
    for (let i = this.back.length - 1; i >= 0; i--) this.back[i]();
    return loss / N;
  }
}

/**
 * The CIFAR ResNet of `resnet:C1,…,Cs[:B]`: conv-BN-ReLU stem of C1; per stage s, B basic blocks
 * (conv-BN-ReLU, conv-BN, + identity or 1×1 conv-BN projection, ReLU), the first block of every
 * stage after the first with stride 2; global average pooling; linear layer 'out'.
 */
export function resnetRef(t: Tape, x: T, stages: number[], blocks: number, classes: number): T {
  let h = t.clamp(t.batchNorm(t.conv(x, 'stem.conv', stages[0], 3, 1), 'stem.conv.bn'));
  let ch = stages[0];
  stages.forEach((c, s) => {
    for (let b = 0; b < blocks; b++) {
      const nm = `stage${s + 1}.block${b + 1}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const a = t.clamp(t.batchNorm(t.conv(h, `${nm}.conv1`, c, 3, stride), `${nm}.conv1.bn`));
      const body = t.batchNorm(t.conv(a, `${nm}.conv2`, c, 3, 1), `${nm}.conv2.bn`);
      const sc = stride !== 1 || ch !== c ? t.batchNorm(t.conv(h, `${nm}.shortcut`, c, 1, stride), `${nm}.shortcut.bn`) : h;
      h = t.clamp(t.add(body, sc));
      ch = c;
    }
  });
  return t.linear(t.globalAvgPool(h), 'out', classes);
}

/**
 * The network of `mobilenet:C1,C2,…`: conv-BN-ReLU6 stem of C1; per later C_i a 3×3 depthwise
 * conv-BN-ReLU6 (stride 2 when C_i grows) and a 1×1 pointwise conv-BN-ReLU6 to C_i; global
 * average pooling; linear layer 'out'.
 */
export function mobilenetRef(t: Tape, x: T, widths: number[], classes: number): T {
  let h = t.clamp(t.batchNorm(t.conv(x, 'stem.conv', widths[0], 3, 1), 'stem.conv.bn'), 6);
  let ch = widths[0];
  widths.slice(1).forEach((c, i) => {
    const nm = `block${i + 1}`;
    h = t.clamp(t.batchNorm(t.conv(h, `${nm}.dw`, ch, 3, c > ch ? 2 : 1, ch), `${nm}.dw.bn`), 6);
    h = t.clamp(t.batchNorm(t.conv(h, `${nm}.pw`, c, 1, 1), `${nm}.pw.bn`), 6);
    ch = c;
  });
  return t.linear(t.globalAvgPool(h), 'out', classes);
}
