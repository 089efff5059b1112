/**
 * Dead-code elimination: drop nodes whose outputs reach no graph output, and unused initialisers;
 * and a MaxPool's unused Indices output.
 */
import type { Graph, Node } from './ir.js';

export function prune(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  const trimmed = new Map<number, Node>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((y) => live.has(y))) {
      keep[i] = true;
      // An unused Indices output of MaxPool goes (onnxruntime then takes its much faster path).
      if (n.op === 'MaxPool' && n.outputs.length === 2 && !live.has(n.outputs[1])) trimmed.set(i, { ...n, outputs: [n.outputs[0]] });
      for (const x of n.inputs) if (x) live.add(x);
    }
  }
  const nodes = g.nodes.map((n, i) => trimmed.get(i) ?? n).filter((_, i) => keep[i]);
  const initializers = new Map([...g.initializers].filter(([k]) => live.has(k) || g.inputs.some((i) => i.name === k)));
  return { ...g, nodes, initializers };
}
