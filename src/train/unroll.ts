/**
 * Several training steps in one graph run. onnxruntime-node copies every output of a run into a
 * fresh JavaScript buffer, so a one-step graph pays a copy of all the weights per step; a graph
 * that chains K copies of the step hands the weights from step to step inside the runtime and
 * returns them once per K steps. The K copies are the same nodes on the same shapes, so each
 * step computes bitwise what the one-step graph computes (tested).
 *
 * Naming in the K-step graph: every per-step input `x` of the one-step graph becomes `x@j`
 * (j = 0…K−1: the batch, labels, masks, lr, …) and every per-step output `y` (loss, correct)
 * becomes `y@j`; state inputs and outputs keep their names. A carried state (the previous
 * weights, which a one-step run takes over from the fed buffer) is the weights fed to the last
 * step, an intermediate value here, so in the K-step graph it is an ordinary updated state.
 */
import type { Graph, Node, Value } from '../graph/ir.js';
import { canWriteInPlace } from '../graph/inplace.js';
import type { StateBinding } from '../runtime/session.js';
import type { StepGraph } from './step.js';

export interface UnrolledStepGraph extends StepGraph {
  /** Steps per run. */
  k: number;
  /** Per-step input names of the one-step graph (fed as `name@j`). */
  stepInputs: string[];
  /** Per-step output names of the one-step graph (returned as `name@j`). */
  stepOutputs: string[];
}

export const stepName = (name: string, j: number): string => `${name}@${j}`;

export function unrollStepGraph(sg: StepGraph, k: number): UnrolledStepGraph {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`steps per run must be an integer ≥ 2 to unroll, got ${k}`);
  const g = sg.graph;
  const byInput = new Map(sg.bindings.map((b) => [b.input, b]));
  const stateOutputs = new Map(sg.bindings.filter((b) => b.output !== undefined).map((b) => [b.output!, b.input]));
  const stepInputs = g.inputs.filter((v) => !byInput.has(v.name)).map((v) => v.name);
  const stepOutputs = g.outputs.filter((v) => !stateOutputs.has(v.name)).map((v) => v.name);
  for (const o of g.outputs) if (byInput.has(o.name) || g.inputs.some((i) => i.name === o.name)) throw new RangeError(`cannot unroll: output '${o.name}' is a graph input`);
  const carriedBy = new Map<string, string>(); // source state → the state that carries it
  for (const b of sg.bindings) if (b.carryFrom !== undefined) carriedBy.set(b.carryFrom, b.input);

  // The carried state's output: the source's weights after step K−2, i.e. as fed to the last step.
  const carriedOutput = (carrier: string, source: string): string => carrier + suffixAfter(byInput.get(source)!.output!, source);
  // Name of state `s` as fed to step j (j ≥ 0).
  const fedName = (s: string, j: number): string => {
    if (j === 0) return s;
    const b = byInput.get(s)!;
    if (b.carryFrom !== undefined) return fedName(b.carryFrom, j - 1);
    return outName(b.output!, j - 1);
  };
  // Name, in the K-step graph, of the one-step graph's node output `y` computed in step j.
  const outName = (y: string, j: number): string => {
    const s = stateOutputs.get(y);
    if (s !== undefined) {
      if (j === k - 1) return y;
      const carrier = carriedBy.get(s);
      if (carrier !== undefined && j === k - 2) return carriedOutput(carrier, s);
      return `s${j}/${y}`;
    }
    if (stepOutputs.includes(y)) return stepName(y, j);
    return `s${j}/${y}`;
  };
  const isInput = new Set(g.inputs.map((v) => v.name));
  const rename = (x: string, j: number): string => {
    if (x === '' || g.initializers.has(x)) return x;
    if (isInput.has(x)) return byInput.has(x) ? fedName(x, j) : stepName(x, j);
    return outName(x, j);
  };

  const nodes: Node[] = [];
  const values = new Map<string, Value>();
  for (const [name, v] of g.values) if (g.initializers.has(name) || byInput.has(name)) values.set(name, v);
  for (let j = 0; j < k; j++) {
    for (const n of g.nodes) {
      const outs = n.outputs.map((y) => (y === '' ? '' : outName(y, j)));
      nodes.push({ ...n, name: `s${j}/${n.name}`, inputs: n.inputs.map((x) => rename(x, j)), outputs: outs });
      n.outputs.forEach((y, i) => {
        if (y === '') return;
        const v = g.values.get(y)!;
        values.set(outs[i], { ...v, name: outs[i] });
      });
    }
    for (const name of stepInputs) {
      const v = g.values.get(name)!;
      values.set(stepName(name, j), { ...v, name: stepName(name, j) });
    }
  }
  const inputs: Value[] = [
    ...g.inputs.filter((v) => byInput.has(v.name)),
    ...Array.from({ length: k }, (_, j) => stepInputs.map((name) => values.get(stepName(name, j))!)).flat(),
  ];
  const bindings: StateBinding[] = sg.bindings.map((b) =>
    b.carryFrom === undefined ? { input: b.input, output: b.output } : { input: b.input, output: carriedOutput(b.input, b.carryFrom) },
  );
  const outputs: Value[] = [
    ...bindings.map((b) => values.get(b.output!)!),
    ...Array.from({ length: k }, (_, j) => stepOutputs.map((name) => values.get(stepName(name, j))!)).flat(),
  ];
  const graph: Graph = { ...g, name: `${g.name}_x${k}`, inputs, outputs, nodes, values };
  for (const b of bindings) {
    const was = sg.bindings.find((x) => x.input === b.input)!;
    if (was.inPlace && canWriteInPlace(graph, b.input, b.output!)) b.inPlace = true;
  }
  return { ...sg, graph, bindings, k, stepInputs, stepOutputs, inputs: sg.inputs };
}

/** The suffix a state output has after its state's name (':next' for every state the step graph builds). */
function suffixAfter(output: string, state: string): string {
  if (!output.startsWith(state)) throw new RangeError(`state output '${output}' is not named after its state '${state}'`);
  return output.slice(state.length);
}
