/**
 * The "Distil here" training worker (bundled to dist/web/distil-worker.js; a module Web Worker
 * the page starts). It trains a student from the run's cached teacher outputs with the engine's
 * own loop (src/train/loop.ts: the seeded init of Network.create, shuffledBatches' batch order,
 * the step graph of graph/autodiff/nn/optim) on the runtime's onnxruntime-web backend, and
 * reports every step's loss and each epoch's held-out errors; at the end, the student's ONNX
 * bytes and its held-out score. Stop ends the run after the current step group.
 *
 * Messages in:  {type:'start', request: DistilRequest, data: '/run/web/distil.bin'} | {type:'stop'}
 * Messages out: DistilMessage (below).
 */
import { useWebBackend } from '../runtime/web.js';
import { evaluateNetwork } from '../train/evaluate.js';
import { runTraining } from '../train/loop.js';
import { Network } from '../train/network.js';
import { type DistilRequest, checkDistilRequest, distilConfig, distilData } from './distil.js';
import { decodeDistilSet } from './format.js';

export type DistilMessage =
  | { type: 'started'; weights: number; steps: number; train: number; heldOut: number; describe: string }
  | { type: 'step'; step: number; epoch: number; loss: number }
  | { type: 'epoch'; epoch: number; loss: number; heldOutErrors: number; heldOutTotal: number }
  | { type: 'done'; steps: number; stopped: boolean; seconds: number; heldOutErrors: number; heldOutTotal: number; onnx: Uint8Array }
  | { type: 'error'; message: string };

const post = (m: DistilMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);
let stopAsked = false;
let running = false;

/** Let queued messages (a Stop) in: a task turn through a MessageChannel (no timer clamping). */
function yieldToMessages(): Promise<void> {
  return new Promise((ok) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      ok();
    };
    ch.port2.postMessage(0);
  });
}

async function train(r: DistilRequest, url: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const set = decodeDistilSet(new Uint8Array(await res.arrayBuffer()));
  const { train, heldOut, teacher } = distilData(set);
  const checked = checkDistilRequest(r, train.shape, set.classes);
  if ('error' in checked) return post({ type: 'error', message: checked.error });
  const cfg = distilConfig(r);
  const net = Network.create(checked.model, cfg.seed);
  const stepsPerEpoch = Math.ceil(train.n / Math.min(cfg.batch, train.n));
  post({ type: 'started', weights: net.parameterCount, steps: stepsPerEpoch * cfg.epochs, train: train.n, heldOut: heldOut.n, describe: net.module.describe(net.spec.inputShape) });
  let step = 0;
  const t0 = performance.now();
  const result = await runTraining(net, train, cfg, {
    teacher,
    evalSets: [heldOut],
    stepEvery: 1,
    onEvent: (e) => {
      if (e.type === 'step') post({ type: 'step', step: ++step, epoch: e.epoch, loss: e.loss });
      else post({ type: 'epoch', epoch: e.epoch, loss: e.loss, heldOutErrors: e.evals![0].errors, heldOutTotal: e.evals![0].total });
    },
    shouldStop: async () => {
      await yieldToMessages();
      return stopAsked;
    },
  });
  const score = await evaluateNetwork(net, heldOut);
  const onnx = net.toOnnx();
  post({ type: 'done', steps: result.steps, stopped: result.stopped, seconds: (performance.now() - t0) / 1000, heldOutErrors: score.errors, heldOutTotal: score.total, onnx }, [onnx.buffer]);
}

useWebBackend('/ort/');
self.onmessage = (ev: MessageEvent<{ type: 'start'; request: DistilRequest; data: string } | { type: 'stop' }>) => {
  const m = ev.data;
  if (m.type === 'stop') {
    stopAsked = true;
    return;
  }
  if (running) return post({ type: 'error', message: 'a training is already running in this worker' });
  running = true;
  stopAsked = false;
  train(m.request, m.data)
    .catch((e: Error) => post({ type: 'error', message: e.message.split('\n')[0] }))
    .finally(() => (running = false));
};
