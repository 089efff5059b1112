/**
 * The training loop for Node: src/train/loop.ts (platform-neutral; the browser worker runs it
 * as it is) with checkpoint files (src/train/checkpoint-session.ts) and, by default, log lines
 * on stderr. Every random draw comes from a seeded stream, so the same seed gives bitwise the
 * same weights, whether the run was interrupted and resumed or not.
 */
import type { Dataset } from '../data/dataset.js';
import { openCheckpoints } from './checkpoint-session.js';
import type { TrainConfig } from './config.js';
import { type TrainOptions, type TrainResult, runTraining } from './loop.js';
import type { Network } from './network.js';
import { replicatedSteps } from './replicas.js';

export * from './loop.js';

export async function trainNetwork(net: Network, data: Dataset, cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const onLog = opts.onLog ?? ((text: string) => process.stderr.write(`dk: ${text}\n`));
  return runTraining(net, data, cfg, { ...opts, onLog }, openCheckpoints, replicatedSteps);
}
