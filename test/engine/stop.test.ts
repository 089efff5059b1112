/**
 * shouldStop (src/train/loop.ts): asked after every step group, it ends a run there with the
 * weights as they stand (bitwise the same whether the steps ran as a group or one by one); a
 * run told to stop at an epoch's end finishes that epoch; checkpoints cannot be written without
 * the Node trainer's opener.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { subset } from '../../src/data/subset.js';
import { runTraining } from '../../src/train/loop.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, type TrainConfig, trainNetwork } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';

const RT = { threads: 1 };
const { train } = loadBuiltinMnist();
const data: Dataset = subset(train, new Rng(5).permutation(train.n).subarray(0, 400));
const cfg: TrainConfig = { ...DEFAULT_TRAIN, epochs: 3, batch: 50, schedule: { kind: 'constant' }, seed: 4 };
const fresh = () => Network.create({ spec: 'mlp:8', inputShape: [784], classes: 10, options: {} }, 4);
const weights = (n: Network) => [...n.params.values()].map((v) => [...v]);

test('shouldStop after step 5 of 24 ends the run there: 5 steps, no epoch event, trained weights', async () => {
  const losses: number[] = [];
  let epochs = 0;
  const net = fresh();
  const r = await trainNetwork(net, data, cfg, { runtime: RT, stepsPerRun: 1, stepEvery: 1, onEvent: (e) => (e.type === 'step' ? losses.push(e.loss) : epochs++), shouldStop: async () => losses.length >= 5 });
  assert.equal(r.stopped, true);
  assert.equal(r.steps, 5);
  assert.equal(losses.length, 5);
  assert.equal(epochs, 0);
  assert.notDeepEqual(weights(net), weights(fresh()), 'training changed nothing');
});

test('a stop after a group of 4 steps leaves bitwise the weights of a stop after 4 single steps', async () => {
  const grouped = fresh();
  let a = 0;
  const r = await runTraining(grouped, data, cfg, { runtime: RT, stepsPerRun: 4, stepEvery: 1, onEvent: (e) => e.type === 'step' && a++, shouldStop: () => a >= 4 });
  assert.equal(r.steps, 4);
  assert.equal(r.graphRuns, 1, 'the 4 steps ran as one group');
  const single = fresh();
  let b = 0;
  await trainNetwork(single, data, cfg, { runtime: RT, stepsPerRun: 1, stepEvery: 1, onEvent: (e) => e.type === 'step' && b++, shouldStop: () => b >= 4 });
  assert.deepEqual(weights(grouped), weights(single));
});

test('shouldStop true at an epoch end finishes the epoch (its event) and stops before the next', async () => {
  let steps = 0;
  const events: number[] = [];
  const r = await trainNetwork(fresh(), data, cfg, { runtime: RT, stepsPerRun: 1, stepEvery: 1, onEvent: (e) => (e.type === 'step' ? steps++ : events.push(e.epoch)), shouldStop: () => steps >= 8 });
  assert.deepEqual(events, [1]);
  assert.equal(r.steps, 8);
  assert.equal(r.stopped, true);
  const full = await trainNetwork(fresh(), data, cfg, { runtime: RT, shouldStop: () => false });
  assert.equal(full.stopped, false);
  assert.equal(full.steps, 24);
  assert.equal(full.history.length, 3);
});

test('runTraining without a checkpoint opener refuses cfg.checkpoint', async () => {
  await assert.rejects(runTraining(fresh(), data, { ...cfg, checkpoint: { dir: '/nonexistent' } }, { runtime: RT }), /checkpoint: checkpoints are files; train with trainNetwork/);
});
