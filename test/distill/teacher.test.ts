/**
 * ONNX teachers: our own saved models and foreign ones (4-D input, softmax output, no metadata,
 * fixed batch), refused mismatches with both shapes named, and a foreign teacher distilled
 * into an MLP student on a small MNIST sample.
 */
import { describeForCli } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { distill } from '../../src/distill/distill.js';
import { OnnxTeacher } from '../../src/distill/teacher.js';
import type { Dataset } from '../../src/data/dataset.js';
import { argmaxRows, networkLogits, summarise } from '../../src/train/evaluate.js';
import type { Network } from '../../src/train/network.js';
import { UsageError } from '../../src/util/errors.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { Rng } from '../../src/util/rng.js';
import { RT, foreignClassifier, foreignFromLinear, mnistSample, relErr, trainLinearTeacher } from './helpers.js';

let train: Dataset;
let test: Dataset;
let teacher: Network;
const expect = { shape: [1, 28, 28], classes: 10 };

function softmaxRows(z: Float32Array, C: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length / C; i++) {
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, z[i * C + k]);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(z[i * C + k] - m);
    for (let k = 0; k < C; k++) out[i * C + k] = Math.exp(z[i * C + k] - m) / s;
  }
  return out;
}

describe('ONNX teachers', () => {
  before(async () => {
    ({ train, test } = mnistSample(600, 300));
    teacher = await trainLinearTeacher(train);
  });

  it('our own model: logits, fed in its own input shape', async () => {
    const logs: string[] = [];
    const t = await OnnxTeacher.load({ name: 'ours.onnx', bytes: teacher.toOnnx() }, expect, { runtime: RT, progress: (e) => e.kind === 'log' && logs.push(e.text) });
    const out = await t.outputs(test);
    const want = await networkLogits(teacher, test, RT);
    assert.ok(relErr(out, want) < 1e-6);
    assert.equal(t.resolveKind(out, test.n).kind, 'logits');
    assert.ok(t.ours);
    await t.release();
  });

  it('a foreign [N,1,28,28] → Softmax teacher: detected as probabilities, reshape reported, batch fixed in the file honoured', async () => {
    const logs: string[] = [];
    const progress = (e: ProgressEvent) => e.kind === 'log' && logs.push(e.text);
    const want = softmaxRows(await networkLogits(teacher, test, RT), 10);
    for (const batch of [undefined, 7]) {
      const bytes = foreignFromLinear(teacher, true, batch);
      const t = await OnnxTeacher.load({ name: 'foreign.onnx', bytes }, { shape: [784], classes: 10 }, { runtime: RT, progress });
      const flat = { ...test, shape: [784] };
      const out = await t.outputs(flat);
      assert.ok(relErr(out, want) < 1e-5, `batch ${batch}: ${relErr(out, want)}`);
      const k = t.resolveKind(out, test.n);
      assert.equal(k.kind, 'probs');
      assert.match(k.report, /detected as probabilities/);
      await t.release();
    }
    assert.ok(logs.some((l) => /reshaped to \[N,1,28,28\]/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /batch size fixed at 7/.test(l)), logs.join('\n'));
  });

  it('refuses a class-count mismatch, an input-size mismatch and a non-ONNX file, naming both shapes / the file', async () => {
    const rng = new Rng(5);
    const W5 = Float32Array.from({ length: 784 * 5 }, () => rng.normal() * 0.01);
    await assert.rejects(
      OnnxTeacher.load({ name: 'five.onnx', bytes: foreignClassifier(W5, new Float32Array(5)) }, expect, { runtime: RT }),
      (e: Error) => e instanceof UsageError && /five\.onnx/.test(e.message) && /\[batch_size,5\]/.test(e.message) && /\[N,10\]/.test(e.message) && /10 classes/.test(e.message),
    );
    const W32 = Float32Array.from({ length: 1024 * 10 }, () => rng.normal() * 0.01);
    await assert.rejects(
      OnnxTeacher.load({ name: 'big.onnx', bytes: foreignClassifier(W32, new Float32Array(10), { hw: [32, 32] }) }, expect, { runtime: RT }),
      (e: Error) => e instanceof UsageError && /big\.onnx/.test(e.message) && /\[batch_size,1,32,32\]/.test(e.message) && /\[1,28,28\]/.test(e.message) && /1024/.test(e.message) && /784/.test(e.message),
    );
    await assert.rejects(
      OnnxTeacher.load({ name: 'notes.txt', bytes: new TextEncoder().encode('this is not a model at all') }, expect, { runtime: RT }),
      (e: Error) => e instanceof UsageError && /notes\.txt/.test(e.message) && /not an ONNX model/.test(e.message),
    );
  });

  it('a declared kind is honoured; --teacher-outputs probs on outputs with negative values is refused', async () => {
    const bytes = foreignFromLinear(teacher, false); // raw logits
    const t = await OnnxTeacher.load({ name: 'logits.onnx', bytes }, expect, { runtime: RT, outputs: 'probs' });
    const out = await t.outputs(test);
    assert.throws(() => t.resolveKind(out, test.n), (e: Error) => e instanceof UsageError && /^teacherOutputs probs: .*negative/.test(e.message) && /^--teacher-outputs probs: .*use --teacher-outputs logits or auto$/.test(describeForCli(e.problem!)));
    await t.release();
    const t2 = await OnnxTeacher.load({ name: 'logits.onnx', bytes }, expect, { runtime: RT });
    assert.equal(t2.resolveKind(await t2.outputs(test), test.n).kind, 'logits');
    await t2.release();
  });

  it('a foreign teacher (4-D input, Softmax output) distils into an mlp student on a small MNIST sample', async () => {
    const logs: string[] = [];
    const bytes = foreignFromLinear(teacher, true);
    const teacherErrors = summarise(argmaxRows(await networkLogits(teacher, test, RT), test.n, 10), test.y, 10).errors;
    const r = await distill({
      teachers: [{ name: 'torch-export.onnx', bytes }],
      student: 'mlp:64',
      data: { train: { ...train, shape: [784] }, test: { ...test, shape: [784] } },
      train: { epochs: 3, batch: 32, lr: 0.1, temperature: 4, alpha: 0.9, seed: 2 },
      cacheDir: null,
      runtime: RT,
      progress: (e) => e.kind === 'log' && logs.push(e.text),
    });
    const text = logs.join('\n');
    assert.match(text, /detected as probabilities/);
    assert.match(text, /reshaped to \[N,1,28,28\]/);
    assert.deepEqual(r.teacher.kinds, ['probs']);
    assert.equal(r.teacher.test!.errors, teacherErrors, 'the combined teacher is the teacher');
    assert.equal(r.history.length, 3);
    assert.ok(r.test!.accuracy > 0.6, `student accuracy ${r.test!.accuracy} (teacher ${1 - teacherErrors / test.n})`);
  });
});
