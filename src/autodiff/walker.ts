/**
 * The backward walker: reverse-mode differentiation of a graph under construction. It alone
 * handles which nodes matter (on a path from a parameter to the loss), accumulation of fan-out,
 * unbroadcasting gradients to their inputs' shapes, and the error for an op with no rule.
 * Gradient rules themselves live in rules.ts, one entry per op.
 */
import { checkGradAttrs } from './attrs.js';
import type { GraphBuilder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { GRAD_RULES } from './rules.js';
export type { GradCtx, GradOptions, GradRule } from './types.js';
import type { GradOptions } from './types.js';

export class NoGradientRuleError extends Error {
  constructor(op: string, node: string) {
    super(`no gradient rule for op '${op}' (node '${node}'); add one to src/autodiff/rules.ts`);
    this.name = 'NoGradientRuleError';
  }
}

/**
 * Sum `grad` down to `shape` where it was broadcast (leading axes, and axes where the target
 * has size 1). Returns grad unchanged when shapes already agree.
 */
export function unbroadcast(g: GraphBuilder, grad: Value, target: Value): Value {
  const gs = grad.shape;
  const ts = target.shape;
  const lead = gs.length - ts.length;
  if (lead < 0) throw new RangeError(`gradient '${grad.name}' [${gs}] has lower rank than '${target.name}' [${ts}]`);
  const keepAxes: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const gd = gs[lead + i];
    if (ts[i] === 1 && gd !== 1) keepAxes.push(lead + i);
    else if (typeof ts[i] === 'number' && typeof gd === 'number' && ts[i] !== gd) {
      throw new RangeError(`gradient '${grad.name}' [${gs}] does not broadcast to '${target.name}' [${ts}]`);
    }
  }
  let r = grad;
  if (keepAxes.length) r = g.reduceSum(r, keepAxes, true);
  if (lead > 0) r = g.reduceSum(r, [...Array(lead).keys()], false);
  return r;
}

export interface BackwardOptions {
  /** Gradient of the loss to start from (default: 1 for a scalar loss). */
  seed?: Value;
  /** Formulation choices of some rules (types.ts GradOptions). */
  grad?: GradOptions;
}

/**
 * Append the backward pass of `loss` to the graph and return d loss / d v for each v in `wrt`
 * (a value is absent from the map if the loss does not depend on it).
 */
export function backward(g: GraphBuilder, loss: Value, wrt: readonly Value[], opts: BackwardOptions = {}): Map<string, Value> {
  const nodes = g.nodes.slice(); // the forward graph as it stands now
  // Values that depend on some wrt value.
  const dependsOnWrt = new Set(wrt.map((v) => v.name));
  for (const n of nodes) if (n.inputs.some((x) => dependsOnWrt.has(x))) for (const y of n.outputs) dependsOnWrt.add(y);
  // Values the loss depends on.
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const y of n.outputs) producer.set(y, n);
  const feedsLoss = new Set<string>([loss.name]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.outputs.some((y) => feedsLoss.has(y))) for (const x of n.inputs) if (x) feedsLoss.add(x);
  }
  const relevant = (name: string) => dependsOnWrt.has(name) && feedsLoss.has(name);

  const contributions = new Map<string, Value[]>();
  const seed = opts.seed ?? g.scalar(1, loss.dtype);
  contributions.set(loss.name, [seed]);

  const total = (name: string): Value | null => {
    const cs = contributions.get(name);
    if (!cs || cs.length === 0) return null;
    if (cs.length === 1) return cs[0];
    const s = cs.length === 2 ? g.add(cs[0], cs[1]) : g.op('Sum', cs);
    contributions.set(name, [s]);
    return s;
  };

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((y) => contributions.has(y))) continue;
    const needs = n.inputs.map((x) => x !== '' && relevant(x));
    if (!needs.some(Boolean)) continue;
    const rule = GRAD_RULES[n.op];
    if (!rule) throw new NoGradientRuleError(n.op, n.name);
    checkGradAttrs(n);
    const inputs = n.inputs.map((x) => (x ? g.get(x) : null));
    const outputs = n.outputs.map((y) => (y ? g.get(y) : null));
    const gy = n.outputs.map((y) => (y ? total(y) : null));
    const grads = g.scope(`grad/${n.name}`, () => rule({ g, node: n, inputs, outputs, gy, needs, opts: opts.grad ?? {} }));
    grads.forEach((gx, k) => {
      if (!gx || !needs[k]) return;
      const x = inputs[k]!;
      const fixed = unbroadcast(g, gx, x);
      const list = contributions.get(x.name) ?? [];
      list.push(fixed);
      contributions.set(x.name, list);
    });
  }
  const res = new Map<string, Value>();
  for (const v of wrt) {
    const t = total(v.name);
    if (t) res.set(v.name, t);
  }
  return res;
}

