/** The types a gradient rule sees, shared by the rule table (rules.ts) and the walker (walker.ts). */
import type { GraphBuilder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';

export interface GradCtx {
  g: GraphBuilder;
  node: Node;
  inputs: (Value | null)[];
  outputs: (Value | null)[];
  /** Gradient of the loss w.r.t. each output (null where the loss does not depend on it). */
  gy: (Value | null)[];
  /** Which inputs need a gradient; rules may skip the others (return null). */
  needs: boolean[];
}
/** One gradient per input (null: none/not needed). May be broadcast-shaped; the walker sums it down. */
export type GradRule = (c: GradCtx) => (Value | null)[];
