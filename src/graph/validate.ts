/**
 * Checks a graph before it is serialised or run: every node input is defined before use
 * (topological order), names are unique, graph outputs exist, and every initialiser's data
 * matches its declared dims.
 */
import { type Graph, numel } from './ir.js';

export class GraphValidationError extends Error {
  constructor(graph: string, problems: string[]) {
    super(`graph '${graph}' is invalid:\n  - ${problems.slice(0, 20).join('\n  - ')}${problems.length > 20 ? `\n  … ${problems.length - 20} more` : ''}`);
    this.name = 'GraphValidationError';
  }
}

export function validateGraph(g: Graph): void {
  const problems: string[] = [];
  const defined = new Set<string>();
  for (const i of g.inputs) {
    if (defined.has(i.name)) problems.push(`input '${i.name}' is declared twice`);
    defined.add(i.name);
  }
  for (const [name, t] of g.initializers) {
    if (defined.has(name) && !g.inputs.some((i) => i.name === name)) problems.push(`initialiser '${name}' is declared twice`);
    defined.add(name);
    if (t.data.length !== numel(t.dims)) problems.push(`initialiser '${name}' has ${t.data.length} elements but dims [${t.dims}]`);
  }
  const nodeNames = new Set<string>();
  for (const n of g.nodes) {
    if (nodeNames.has(n.name)) problems.push(`node name '${n.name}' is used twice`);
    nodeNames.add(n.name);
    for (const x of n.inputs) {
      if (x !== '' && !defined.has(x)) problems.push(`node '${n.name}' (${n.op}) uses '${x}' before it is defined`);
    }
    for (const y of n.outputs) {
      if (y === '') continue;
      if (defined.has(y)) problems.push(`'${y}' is produced twice (node '${n.name}')`);
      defined.add(y);
    }
  }
  for (const o of g.outputs) if (!defined.has(o.name)) problems.push(`graph output '${o.name}' is never produced`);
  for (const v of g.values.values()) {
    for (const d of v.shape) {
      if (typeof d === 'number' && (!Number.isInteger(d) || d < 0)) problems.push(`'${v.name}' has an invalid dimension ${d}`);
    }
  }
  if (problems.length) throw new GraphValidationError(g.name, problems);
}
