/**
 * Optimiser updates emitted as graph pieces, so a whole training step is one ONNX graph.
 * The learning rate (and Adam's bias correction) are fed each step, so schedules need no rebuild.
 *
 * SGD (PyTorch convention): d = g + λ·w;  v' = μ·v + d;  w' = w − lr·v'   (Nesterov: w' = w − lr·(d + μ·v'))
 *   Emitted in forms that compute the same update with fewer passes over the weights. 'scaled':
 *   the state holds u = −lr_prev·v (name '<param>.velocity'; lr_prev, the lr of the step that
 *   wrote it, is a scalar state 'optim.lr_prev'), so with k = μ·lr/lr_prev
 *     u' = k·u − lr·d   (= −lr·v'),   w' = w + u'   (Nesterov: w' = w − lr·d + μ·u')
 *   and −lr is applied to the small [batch, out] gradient before the weight-gradient Gemm.
 *   'history' (the default; heavy-ball form, Polyak 1964): since w − w_prev = u, no velocity is
 *   kept: the state is the previous step's weights '<param>.prev', handed over by the runner
 *   without a copy, and  w' = w + k·(w − w_prev) − lr·d.  The step then outputs only the new
 *   weights (onnxruntime-node copies every output into a fresh buffer: half the bytes), but u is
 *   recovered to float32 rounding of w (the same order as rounding w + u itself). Used without
 *   Nesterov and max-norm (scaled form otherwise). Both are exact for any lr schedule with lr > 0;
 *   a step with lr = 0 leaves w unchanged but clears the velocity (PyTorch keeps accumulating it).
 *   `form: 'torch'` emits the literal formula.
 * Adam (Kingma & Ba 2015, "efficient" form): m' = β1·m + (1−β1)·d;  v' = β2·v + (1−β2)·d²;
 *   w' = w − lr·c_t·m'/(√v' + ε),  c_t = √(1−β2^t)/(1−β1^t) fed as 'adam_correction'.
 *   Adam: d = g + λ·w (L2).  AdamW (Loshchilov & Hutter 2019): d = g, and w' −= lr·λ·w (decoupled).
 * Max-norm (Srebro & Shraibman 2005; Hinton's dropout nets): after the update each unit's
 *   incoming weight vector is rescaled to length ≤ c:  w' ← w' · min(1, c/‖w'‖).
 */
import type { GraphBuilder } from '../graph/builder.js';
import type { Value } from '../graph/ir.js';
import type { ParamSpec } from '../nn/module.js';

export type OptimKind = 'sgd' | 'adam' | 'adamw';

export interface OptimConfig {
  kind: OptimKind;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** Max-norm constraint on incoming weight vectors (0 = off). */
  maxNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_OPTIM: OptimConfig = {
  kind: 'sgd',
  momentum: 0.9,
  nesterov: false,
  weightDecay: 0,
  maxNorm: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
};

export function validateOptim(o: OptimConfig): void {
  if (!['sgd', 'adam', 'adamw'].includes(o.kind)) throw new RangeError(`optimizer must be one of sgd, adam, adamw; got '${o.kind}'`);
  const chk = (k: keyof OptimConfig, ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`${k} must be ${what}, got ${o[k]}`);
  };
  chk('momentum', o.momentum >= 0 && o.momentum < 1, 'in [0, 1)');
  chk('weightDecay', o.weightDecay >= 0 && Number.isFinite(o.weightDecay), 'a finite number ≥ 0');
  chk('maxNorm', o.maxNorm >= 0 && Number.isFinite(o.maxNorm), 'a finite number ≥ 0 (0 = off)');
  chk('beta1', o.beta1 >= 0 && o.beta1 < 1, 'in [0, 1)');
  chk('beta2', o.beta2 >= 0 && o.beta2 < 1, 'in [0, 1)');
  chk('eps', o.eps > 0, '> 0');
  if (o.nesterov && !(o.kind === 'sgd' && o.momentum > 0)) throw new RangeError('nesterov needs the sgd optimizer with momentum > 0');
}

export interface OptimItem {
  param: Value;
  grad: Value;
  spec: ParamSpec;
}

export interface OptimState {
  /** Name of the state input, its dims, and the value computing its update… */
  name: string;
  dims: number[];
  next?: Value;
  /** …or, instead of `next`: the state becomes this parameter's value as fed to this step (its initial value is the parameter's). */
  carryFrom?: string;
}

export interface OptimResult {
  /** New value of each parameter, by parameter name. */
  next: Map<string, Value>;
  state: OptimState[];
  /** Extra scalar inputs the step needs each call ('adam_correction'). */
  scalars: string[];
}

/** d = g (+ λ·w for L2 decay). */
function decayed(g: GraphBuilder, it: OptimItem, wd: number): Value {
  if (wd > 0 && it.spec.decay) return g.add(it.grad, g.mul(it.param, g.s(it.param, wd)));
  return it.grad;
}

function maxNorm(g: GraphBuilder, w: Value, spec: ParamSpec, c: number): Value {
  if (!(c > 0) || !spec.maxNormAxes) return w;
  const norms = g.op('Sqrt', [g.reduceSum(g.mul(w, w), spec.maxNormAxes, true)]);
  const factor = g.op('Min', [g.s(w, 1), g.div(g.s(w, c), g.op('Max', [norms, g.s(w, 1e-12)]))]);
  return g.mul(w, factor);
}

/**
 * Fold SGD momentum into the Gemm that computes a weight gradient: v' = Gemm(A, G, v, beta=μ)
 * replaces Gemm(A, G) followed by μ·v + dW (one pass over the weights instead of three).
 * Returns null when the gradient is not a lone C-less Gemm output.
 */
function fusedMomentum(g: GraphBuilder, it: OptimItem, v: Value, mu: number): Value | null {
  const node = g.nodes.find((n) => n.outputs[0] === it.grad.name);
  if (!node || node.op !== 'Gemm' || node.inputs.length !== 2) return null;
  const uses = g.nodes.filter((n) => n.inputs.includes(it.grad.name)).length;
  if (uses !== 0) return null;
  const alpha = node.attrs.alpha;
  if (alpha && alpha.type === 'float' && alpha.value !== 1) return null;
  const ta = node.attrs.transA?.type === 'int' ? node.attrs.transA.value : 0;
  const tb = node.attrs.transB?.type === 'int' ? node.attrs.transB.value : 0;
  return g.op('Gemm', [g.get(node.inputs[0]), g.get(node.inputs[1]), v], { transA: ta, transB: tb, beta: mu });
}

/**
 * −lr·grad. When the gradient is the output of a lone C-less Gemm (a weight gradient x'·G) used
 * nowhere else, the scale goes onto that Gemm's smaller input instead (a [batch, out] tensor
 * rather than the whole weight matrix); the original Gemm is left dead for prune().
 */
function scaledGrad(g: GraphBuilder, grad: Value, negLr: Value): Value {
  const node = g.nodes.find((n) => n.outputs[0] === grad.name);
  const uses = g.nodes.filter((n) => n.inputs.includes(grad.name)).length;
  const alpha = node?.attrs.alpha;
  if (node && node.op === 'Gemm' && node.inputs.length === 2 && uses === 0 && !(alpha && alpha.type === 'float' && alpha.value !== 1)) {
    const [a, b] = node.inputs.map((n) => g.get(n));
    const size = (v: Value) => v.shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
    const scaleA = size(a) < size(b);
    const attrs: Record<string, number> = {};
    for (const k of ['transA', 'transB'] as const) if (node.attrs[k]?.type === 'int') attrs[k] = node.attrs[k].value as number;
    return g.op('Gemm', scaleA ? [g.mul(a, negLr), b] : [a, g.mul(b, negLr)], attrs);
  }
  return g.mul(grad, negLr);
}

export type SgdForm = 'history' | 'scaled' | 'torch';

export interface EmitOptions {
  /** Fold momentum into the weight-gradient Gemm (torch form only): v' = Gemm(A, G, v, beta = μ). */
  fuse?: boolean;
  /** SGD with momentum: 'history' (default), 'scaled' or 'torch' (the literal formula); see the header. */
  form?: SgdForm;
}

export function emitOptimizer(g: GraphBuilder, items: OptimItem[], lr: Value, cfg: OptimConfig, opts: EmitOptions = {}): OptimResult {
  validateOptim(cfg);
  const form = opts.form ?? 'history';
  if (cfg.kind === 'sgd' && cfg.momentum > 0 && !opts.fuse && form !== 'torch') {
    // the history form keeps no velocity: not with Nesterov (w' − w is not the velocity) nor max-norm (it would fold the projection into the momentum)
    return emitScaledSgd(g, items, lr, cfg, form === 'history' && !cfg.nesterov && !(cfg.maxNorm > 0));
  }
  const fuse = opts.fuse ?? false;
  const next = new Map<string, Value>();
  const state: OptimState[] = [];
  const scalars: string[] = [];
  let corr: Value | null = null;
  if (cfg.kind !== 'sgd') {
    corr = g.input('adam_correction', lr.dtype, []);
    scalars.push('adam_correction');
  }
  for (const it of items) {
    const name = it.spec.name;
    const w = it.param;
    let w1: Value;
    g.scope(`optim/${name}`, () => {
      if (cfg.kind === 'sgd') {
        if (cfg.momentum === 0) {
          w1 = g.sub(w, g.mul(lr, decayed(g, it, cfg.weightDecay)));
          return;
        }
        const v = g.input(`${name}.momentum`, w.dtype, w.shape);
        let v1: Value | null = null;
        if (fuse && !cfg.nesterov && !(cfg.weightDecay > 0 && it.spec.decay)) v1 = fusedMomentum(g, it, v, cfg.momentum);
        const d = v1 ? null : decayed(g, it, cfg.weightDecay);
        if (!v1) v1 = g.add(g.mul(v, g.s(v, cfg.momentum)), d!);
        state.push({ name: v.name, dims: w.shape as number[], next: v1 });
        const step = cfg.nesterov ? g.add(d!, g.mul(v1, g.s(v1, cfg.momentum))) : v1;
        w1 = g.sub(w, g.mul(lr, step));
      } else {
        const m = g.input(`${name}.adam_m`, w.dtype, w.shape);
        const v = g.input(`${name}.adam_v`, w.dtype, w.shape);
        const d = cfg.kind === 'adam' ? decayed(g, it, cfg.weightDecay) : it.grad;
        const m1 = g.add(g.mul(m, g.s(m, cfg.beta1)), g.mul(d, g.s(d, 1 - cfg.beta1)));
        const v1 = g.add(g.mul(v, g.s(v, cfg.beta2)), g.mul(g.mul(d, d), g.s(d, 1 - cfg.beta2)));
        state.push({ name: m.name, dims: w.shape as number[], next: m1 }, { name: v.name, dims: w.shape as number[], next: v1 });
        const upd = g.div(m1, g.add(g.op('Sqrt', [v1]), g.s(v1, cfg.eps)));
        w1 = g.sub(w, g.mul(g.mul(lr, corr!), upd));
        if (cfg.kind === 'adamw' && cfg.weightDecay > 0 && it.spec.decay) w1 = g.sub(w1, g.mul(g.mul(lr, g.s(w, cfg.weightDecay)), w));
      }
    });
    next.set(name, maxNorm(g, w1!, it.spec, cfg.maxNorm));
  }
  return { next, state, scalars };
}

/**
 * SGD with momentum in the scaled-velocity form (see the header): u = −lr_prev·v, either kept as a
 * state of its own or (history) recovered as u = w − w_prev from the previous step's weights.
 */
function emitScaledSgd(g: GraphBuilder, items: OptimItem[], lr: Value, cfg: OptimConfig, history: boolean): OptimResult {
  const next = new Map<string, Value>();
  const state: OptimState[] = [];
  let negLr!: Value;
  let k!: Value;
  g.scope('optim', () => {
    const lrPrev = g.input('optim.lr_prev', lr.dtype, []);
    state.push({ name: lrPrev.name, dims: [], next: lr });
    negLr = g.neg(lr);
    // k = μ·lr/lr_prev, or 0 where lr_prev = 0 (then u = 0 as well: initial state, or after an lr = 0 step)
    const ratio = g.div(lr, g.op('Max', [lrPrev, g.s(lr, 1e-30)]));
    k = g.op('Where', [g.op('Greater', [lrPrev, g.s(lr, 0)]), g.mul(ratio, g.s(lr, cfg.momentum)), g.s(lr, 0)]);
  });
  for (const it of items) {
    const name = it.spec.name;
    const w = it.param;
    let w1!: Value;
    g.scope(`optim/${name}`, () => {
      let d = scaledGrad(g, it.grad, negLr); // −lr·g
      if (cfg.weightDecay > 0 && it.spec.decay) d = g.add(d, g.mul(w, g.mul(negLr, g.s(w, cfg.weightDecay))));
      if (history) {
        // w' = w + k·(w − w_prev) − lr·d;  w_prev' = w (handed over by the runner, not computed)
        const wp = g.input(`${name}.prev`, w.dtype, w.shape);
        state.push({ name: wp.name, dims: w.shape as number[], carryFrom: w.name });
        w1 = g.op('Sum', [w, g.mul(g.sub(w, wp), k), d]);
        return;
      }
      const u = g.input(`${name}.velocity`, w.dtype, w.shape);
      const u1 = g.add(g.mul(u, k), d);
      state.push({ name: u.name, dims: w.shape as number[], next: u1 });
      w1 = cfg.nesterov ? g.add(g.add(w, d), g.mul(u1, g.s(u1, cfg.momentum))) : g.add(w, u1);
    });
    next.set(name, maxNorm(g, w1, it.spec, cfg.maxNorm));
  }
  return { next, state, scalars: [] };
}

/** Adam's bias correction c_t = √(1−β2^t)/(1−β1^t) for step t ≥ 1. */
export function adamCorrection(cfg: OptimConfig, t: number): number {
  return Math.sqrt(1 - Math.pow(cfg.beta2, t)) / (1 - Math.pow(cfg.beta1, t));
}
