/**
 * Attributes the gradient rules do not handle, refused before any gradient is built. A rule that
 * ignored an attribute would differentiate another function than the forward computes (e.g.
 * Conv with auto_pad=SAME_UPPER read as no padding) — silently wrong, the worst outcome once
 * foreign graphs are trained. Each entry: op → attribute → the values the rule handles (an
 * absent attribute is its ONNX default, which every rule handles).
 */
import type { AttrValue, Node } from '../graph/ir.js';

interface Limit {
  ok: (v: AttrValue) => boolean;
  expected: string;
}
const oneOf = (...vals: string[]): Limit => ({ ok: (v) => v.type === 'string' && vals.includes(v.value), expected: vals.join(' or ') });
const intIs = (n: number): Limit => ({ ok: (v) => (v.type === 'int' || v.type === 'float') && v.value === n, expected: String(n) });
const allOnes: Limit = { ok: (v) => (v.type === 'ints' || v.type === 'floats') && v.value.every((d) => d === 1), expected: 'all 1' };
/** NOTSET uses `pads`; VALID means no padding, which is what an absent `pads` gives. */
const autoPad = oneOf('NOTSET', 'VALID');
/** An attribute of an old opset whose meaning moved to an input: the rule reads the input only. */
const absent = (instead: string): Limit => ({ ok: () => false, expected: `absent (${instead})` });
/** noop_with_empty_axes=1 makes an empty axes list the identity; the rules reduce over all axes. */
const reduce = { noop_with_empty_axes: intIs(0) };

export const ATTR_LIMITS: Readonly<Record<string, Readonly<Record<string, Limit>>>> = {
  Conv: { auto_pad: autoPad, dilations: allOnes },
  MaxPool: { auto_pad: autoPad, ceil_mode: intIs(0), dilations: allOnes, storage_order: intIs(0) },
  AveragePool: { auto_pad: autoPad, ceil_mode: intIs(0), dilations: allOnes },
  ReduceSum: reduce,
  ReduceMean: reduce,
  ReduceMax: reduce,
  // spatial=0 (opset < 9) keeps statistics per activation, not per channel.
  BatchNormalization: { spatial: intIs(1) },
  // Opset < 11 gave the bounds as attributes.
  Clip: { min: absent('the bounds as inputs 1 and 2, opset ≥ 11'), max: absent('the bounds as inputs 1 and 2, opset ≥ 11') },
};

export class UnsupportedAttributeError extends RangeError {
  constructor(
    readonly op: string,
    readonly nodeName: string,
    readonly attribute: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedAttributeError';
  }
}

function show(v: AttrValue): string {
  if (v.type === 'tensor') return '<tensor>';
  return Array.isArray(v.value) ? `[${v.value.join(',')}]` : v.type === 'string' ? `'${v.value}'` : String(v.value);
}

/** Throws an {@link UnsupportedAttributeError} naming the node, op and attribute the rule cannot handle. */
export function checkGradAttrs(n: Node): void {
  const limits = ATTR_LIMITS[n.op];
  if (!limits) return;
  for (const [k, lim] of Object.entries(limits)) {
    const v = n.attrs[k];
    if (v !== undefined && !lim.ok(v)) {
      throw new UnsupportedAttributeError(n.op, n.name, k, `node '${n.name}' (${n.op}): ${k}=${show(v)} is not supported by its gradient rule (supported: ${lim.expected})`);
    }
  }
}
