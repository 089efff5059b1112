/**
 * Batched inference over a dataset at full ORT speed: logits for every example, and the
 * summary the CLI prints (errors, accuracy, per-class accuracy).
 */
import { GraphBuilder } from '../graph/builder.js';
import { type Graph, type TensorData, tensor } from '../graph/ir.js';
import type { Dataset } from '../data/dataset.js';
import { featureSize } from '../data/dataset.js';
import { type RuntimeOptions, Runner } from '../runtime/session.js';
import type { Network } from './network.js';
import { argmaxRows } from '../util/softmax.js';

export interface EvalSummary {
  errors: number;
  total: number;
  accuracy: number;
  perClass: number[];
}

/** Forward graph with parameters as inputs (fed from a training step's live state, no rebuild). */
export function forwardGraphWithParamInputs(net: Network): Graph {
  const g = new GraphBuilder('forward');
  const x = g.input('input', 'float32', ['N', ...net.spec.inputShape]);
  const logits = net.module.forward(
    {
      g,
      training: false,
      param: (s) => g.input(s.name, 'float32', s.dims),
      buffer: (s) => g.input(s.name, 'float32', s.dims),
      setBuffer: () => {},
      dropoutMask: () => null,
    },
    x,
    net.spec.inputShape,
  );
  g.output(logits, 'logits');
  return g.build();
}

/**
 * Run a model over all rows of `x` (n × D) in batches; returns n × C outputs of `outputName`.
 * `extra` feeds (e.g. parameters) are passed with every batch.
 */
export async function predictAll(
  runner: Runner,
  x: Float32Array,
  n: number,
  inputShape: number[],
  opts: { batch?: number; inputName?: string; outputName?: string; extra?: Record<string, TensorData>; onBatch?: (done: number) => void } = {},
): Promise<{ out: Float32Array; width: number }> {
  const B = opts.batch ?? 1000;
  const D = inputShape.reduce((a, b) => a * b, 1);
  const inName = opts.inputName ?? runner.inputNames[0];
  const outName = opts.outputName ?? runner.outputNames[0];
  let out: Float32Array | null = null;
  let width = 0;
  for (let s = 0; s < n; s += B) {
    const m = Math.min(B, n - s);
    const res = await runner.run({ ...(opts.extra ?? {}), [inName]: tensor('float32', [m, ...inputShape], x.subarray(s * D, (s + m) * D)) }, [outName]);
    const o = res[outName];
    if (!out) {
      width = o.dims.slice(1).reduce((a, b) => a * b, 1);
      out = new Float32Array(n * width);
    }
    out.set(o.data as Float32Array, s * width);
    opts.onBatch?.(s + m);
  }
  return { out: out ?? new Float32Array(0), width };
}

/** One argmax for the house (src/util/softmax.ts): the index of each row's largest entry. */
export { argmaxRows };

export function summarise(pred: Int32Array, labels: Int32Array, classes: number): EvalSummary {
  const right = new Array(classes).fill(0);
  const count = new Array(classes).fill(0);
  let errors = 0;
  for (let i = 0; i < labels.length; i++) {
    count[labels[i]]++;
    if (pred[i] === labels[i]) right[labels[i]]++;
    else errors++;
  }
  const total = labels.length;
  return { errors, total, accuracy: total ? (total - errors) / total : 0, perClass: count.map((c, k) => (c ? right[k] / c : 0)) };
}

/** Logits of a network over a dataset (compiles its inference graph once). */
export async function networkLogits(net: Network, ds: Dataset, rt: RuntimeOptions = {}): Promise<Float32Array> {
  if (featureSize(ds) !== net.spec.inputShape.reduce((a, b) => a * b, 1)) {
    throw new RangeError(`data has examples of shape [${ds.shape}] but the model takes [${net.spec.inputShape}]`);
  }
  const r = await Runner.create(net.inferenceGraph(), rt);
  try {
    return (await predictAll(r, ds.x, ds.n, net.spec.inputShape)).out;
  } finally {
    await r.release();
  }
}

export async function evaluateNetwork(net: Network, ds: Dataset, rt: RuntimeOptions = {}): Promise<EvalSummary> {
  const logits = await networkLogits(net, ds, rt);
  return summarise(argmaxRows(logits, ds.n, net.spec.classes), ds.y, ds.classes);
}

/**
 * Evaluation during training: the forward graph compiled once with the parameters as inputs, fed
 * the step's live state (no copy into the network, no rebuild).
 */
export class LiveEvaluator {
  private constructor(
    private readonly net: Network,
    private readonly runner: Runner,
  ) {}

  static async create(net: Network, rt: RuntimeOptions = {}): Promise<LiveEvaluator> {
    return new LiveEvaluator(net, await Runner.create(forwardGraphWithParamInputs(net), rt));
  }

  async evaluate(ds: Dataset, state: ReadonlyMap<string, TensorData>): Promise<EvalSummary> {
    // Only the forward graph's own inputs: onnxruntime-web refuses a feed the graph lacks (the
    // optimiser state: "invalid input 'optim.lr_prev'"), where onnxruntime-node ignores it.
    const extra: Record<string, TensorData> = {};
    for (const name of this.runner.inputNames) {
      const v = state.get(name);
      if (v) extra[name] = v;
    }
    const { out } = await predictAll(this.runner, ds.x, ds.n, this.net.spec.inputShape, { extra, inputName: 'input', outputName: 'logits' });
    const C = this.net.spec.classes;
    return summarise(argmaxRows(out, ds.n, C), ds.y, Math.max(C, ds.classes));
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}
