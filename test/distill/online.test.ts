/**
 * The teacher online (src/distill/online.ts): without augmentation its targets — and so the
 * student — equal the cached ones bitwise; with jitter, the targets fed at a step are the
 * teacher's outputs on that step's jittered batch, which the test rebuilds outside the trainer
 * from the seeded streams (shuffle, jitter) and runs through the teacher itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jitterBatch } from '../../src/data/augment.js';
import { distill } from '../../src/distill/distill.js';
import { OnlineTeachers } from '../../src/distill/online.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, trainNetwork } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { RT, mnistSample, trainLinearTeacher } from './helpers.js';

const teacherFile = async () => {
  const { train } = mnistSample();
  const t = await trainLinearTeacher(train);
  return { name: 'teacher.onnx', bytes: t.toOnnx() };
};

describe('the teacher online', () => {
  it('without augmentation, online and cached targets train bitwise the same student', async () => {
    const { train, test } = mnistSample();
    const teacher = await teacherFile();
    const run = (teacherMode: 'cached' | 'online') =>
      distill({ teachers: [teacher], student: 'mlp:16', data: { train, test }, train: { epochs: 2, batch: 32, lr: 0.1, temperature: 4, seed: 5 }, teacherMode, cacheDir: null, runtime: RT });
    const [a, b] = [await run('cached'), await run('online')];
    assert.ok(Buffer.from(a.student.toOnnx()).equals(Buffer.from(b.student.toOnnx())), 'the students differ');
    assert.deepEqual(a.history.map((h) => h.loss), b.history.map((h) => h.loss));
  });

  it("with jitter, a step's targets are the teacher's outputs on that step's jittered batch", async () => {
    const { train } = mnistSample();
    const teacher = await teacherFile();
    const online = await OnlineTeachers.load({ teachers: [teacher] }, ['logits'], train.shape, 10, { runtime: RT });
    // Record what the trainer gives the teacher and what it feeds as targets, step by step.
    const seen: { x: Float32Array; out: Float32Array }[] = [];
    const recording = {
      classes: 10,
      identity: online.identity,
      async logits(x: Float32Array, m: number, out: Float32Array) {
        await online.logits(x, m, out);
        seen.push({ x: x.slice(0, m * 784), out: out.slice(0, m * 10) });
      },
    };
    const B = 32;
    const seed = 6;
    const jitter = 2;
    const student = Network.create({ spec: 'mlp:16', inputShape: [784], classes: 10, options: {} }, seed);
    await trainNetwork(student, train, { ...DEFAULT_TRAIN, loss: 'soft-ce', temperature: 4, epochs: 1, batch: B, lr: 0.1, seed, jitter }, { onlineTeacher: recording, runtime: RT, stepsPerRun: 1 });
    assert.equal(seen.length, Math.ceil(train.n / B));
    // Step 0 rebuilt outside: the first B rows of the seeded shuffle, jittered from the seeded jitter stream.
    const rows = Rng.derive(seed, 'shuffle').permutation(train.n).subarray(0, B);
    const clean = new Float32Array(B * 784);
    rows.forEach((r, i) => clean.set(train.x.subarray(r * 784, (r + 1) * 784), i * 784));
    const jittered = new Float32Array(B * 784);
    jitterBatch(clean, jittered, B, train.shape, jitter, Rng.derive(seed, 'jitter'));
    assert.ok(seen[0].x.every((v, i) => v === jittered[i]), 'the teacher did not see the jittered batch the student saw');
    assert.ok(jittered.some((v, i) => v !== clean[i]), 'jitter changed nothing (weak test)');
    const fresh = new Float32Array(B * 10);
    await online.logits(jittered, B, fresh);
    assert.ok(seen[0].out.every((v, i) => v === fresh[i]), "the fed targets are not the teacher's outputs on the jittered batch");
    const onClean = new Float32Array(B * 10);
    await online.logits(clean, B, onClean);
    assert.ok(onClean.some((v, i) => v !== fresh[i]), 'the targets of jittered and clean batches are the same (weak test)');
    await online.release();
  });
});
