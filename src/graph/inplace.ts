/**
 * In-place state updates. A training step feeds a state value (a momentum buffer, …) and returns
 * its update; when every node that reads the fed value is a strict ancestor of the node that
 * writes the update, the update may go into the fed buffer itself: in any execution order that
 * respects the data dependencies, nothing reads the old value once the new one is written. This
 * saves one buffer per state and the cache traffic of a second copy.
 */
import type { Graph } from './ir.js';

export function canWriteInPlace(g: Graph, input: string, output: string): boolean {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((y) => producer.set(y, i)));
  const writer = producer.get(output);
  if (writer === undefined) return false;
  if (g.outputs.some((o) => o.name === input)) return false;
  // ancestors of the writer
  const anc = new Set<number>();
  const stack = [writer];
  while (stack.length) {
    const i = stack.pop()!;
    for (const x of g.nodes[i].inputs) {
      const p = producer.get(x);
      if (p !== undefined && !anc.has(p)) {
        anc.add(p);
        stack.push(p);
      }
    }
  }
  let readers = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    if (!g.nodes[i].inputs.includes(input)) continue;
    readers++;
    if (i === writer || !anc.has(i)) return false;
  }
  return readers > 0;
}
