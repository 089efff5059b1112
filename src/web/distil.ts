/**
 * The "Distil here" view's training, as the engine sees it: the request the page sends (student
 * spec, T, α, epochs, batch, lr, seed), the TrainConfig it becomes (`dk distill`'s: DEFAULT_TRAIN
 * with the soft-ce loss), and the distil set (format.ts) as the engine's datasets and teacher
 * targets. Browser-safe: the training worker (distil-worker.ts) imports it, and so does the test
 * that trains the same student in Node (test/web/distil.test.ts) — same seed, spec and data, the
 * same init and batch order.
 */
import type { Dataset } from '../data/dataset.js';
import { buildModel, isModelFile, modelInputShape } from '../nn/spec.js';
import type { ModelSpec } from '../nn/spec.js';
import { type TeacherTargets, type TrainConfig, DEFAULT_TRAIN, validateTrainConfig } from '../train/loop.js';
import { collectSpecs } from '../train/network.js';
import { type DistilSet, pixelsToInput } from './format.js';

export interface DistilRequest {
  spec: string;
  temperature: number;
  alpha: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
}

/** The largest student the page trains (weights): a bigger one belongs in `dk distill`. */
export const MAX_PAGE_WEIGHTS = 1_000_000;

export function distilConfig(r: DistilRequest): TrainConfig {
  return { ...DEFAULT_TRAIN, loss: 'soft-ce', temperature: r.temperature, alpha: r.alpha, epochs: r.epochs, batch: r.batch, lr: r.lr, seed: r.seed };
}

/** The training rows (all but the last heldOut) and the held-out rows, pixels scaled as the data loader does, and the teacher's rows. */
export function distilData(s: DistilSet): { train: Dataset; heldOut: Dataset; teacher: TeacherTargets } {
  const px = s.height * s.width;
  const nTrain = s.n - s.heldOut;
  const x = pixelsToInput(s.pixels);
  const y = Int32Array.from(s.labels);
  const shape = [1, s.height, s.width];
  const part = (from: number, to: number, name: string): Dataset => ({ x: x.slice(from * px, to * px), y: y.slice(from, to), n: to - from, shape, classes: s.classes, source: `distil.bin:${name}` });
  return { train: part(0, nTrain, 'train'), heldOut: part(nTrain, s.n, 'held-out'), teacher: { logits: s.logits.slice(0, nTrain * s.classes), classes: s.classes } };
}

/**
 * The student's model spec for the data, or a one-line message saying what is wrong with the
 * request: the engine's own checks (spec parser, validateTrainConfig) plus the page's size limit.
 */
export function checkDistilRequest(r: DistilRequest, dataShape: number[], classes: number): { model: ModelSpec } | { error: string } {
  try {
    const spec = String(r.spec ?? '').trim();
    if (spec === '') return { error: "student spec: empty; expected e.g. 'mlp:32', 'mlp:64,32', 'linear' or 'cnn:4'" };
    if (isModelFile(spec)) return { error: `student spec '${spec}': an ONNX file student is for dk distill; the page trains built-in specs` };
    validateTrainConfig(distilConfig(r));
    const model: ModelSpec = { spec, inputShape: modelInputShape(spec, dataShape), classes, options: {} };
    const weights = collectSpecs(buildModel(model), model.inputShape).params.reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
    if (weights > MAX_PAGE_WEIGHTS) return { error: `student spec '${spec}': ${weights.toLocaleString('en')} weights, more than the page trains (${MAX_PAGE_WEIGHTS.toLocaleString('en')}); use dk distill` };
    return { model };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}
