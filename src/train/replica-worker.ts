/**
 * A replica of data-parallel training (src/train/replicas.ts): one onnxruntime session on the
 * gradient graph, fed its shard of each step's batch and the parameters from the shared buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type TensorData, tensor } from '../graph/ir.js';
import { Runner } from '../runtime/session.js';
import type { ReplicaInit, ReplicaReply, ReplicaRequest } from './replicas.js';

const init = workerData as ReplicaInit;
const port = parentPort!;
const reply = (m: ReplicaReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const runner = await Runner.create(init.graph, init.runtime);
  // onnxruntime-node takes no tensor on shared memory ("Invalid argument"): each run copies the
  // shared parameters into this replica's own buffers (a memcpy of the weights, ~1% of a conv step).
  const params: Record<string, TensorData> = {};
  const copies: [Float32Array, Float32Array][] = [];
  for (const [name, dims, off, len] of init.layout) {
    const own = new Float32Array(len);
    params[name] = tensor('float32', dims, own);
    copies.push([own, new Float32Array(init.params, off * 4, len)]);
  }
  port.on('message', (m: ReplicaRequest) => {
    if (m.type === 'close') {
      void runner.release().finally(() => port.close());
      return;
    }
    for (const [own, shared] of copies) own.set(shared);
    runner.run({ ...m.feeds, ...params }, init.fetch).then(
      (outs) => reply({ type: 'done', outs }, [...new Set(Object.values(outs).map((t) => t.data.buffer as ArrayBuffer))]),
      (e: Error) => reply({ type: 'error', message: e.message }),
    );
  });
  reply({ type: 'ready' });
} catch (e) {
  reply({ type: 'error', message: (e as Error).message });
}
