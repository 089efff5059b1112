/** Dead-code elimination: drop nodes whose outputs reach no graph output, and unused initialisers. */
import type { Graph } from './ir.js';

export function prune(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((y) => live.has(y))) {
      keep[i] = true;
      for (const x of n.inputs) if (x) live.add(x);
    }
  }
  const nodes = g.nodes.filter((_, i) => keep[i]);
  const initializers = new Map([...g.initializers].filter(([k]) => live.has(k) || g.inputs.some((i) => i.name === k)));
  return { ...g, nodes, initializers };
}
