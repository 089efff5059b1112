/**
 * ONNX students end to end: the PyTorch exports of test/fixtures/students (a small ResNet with
 * BatchNorm and a depthwise-separable block, eval and training export forms) trained with
 * `dk train` and `dk distill`; the saved file is the input file's graph (op types, node names,
 * graph inputs and outputs, opset) with new weights, and plain onnxruntime-node running it agrees
 * with the test errors dk reports and with `dk eval`. Refusals: an op with no gradient rule, an
 * attribute a rule does not handle, a graph with no float initializers, an input shape that does
 * not fit the data — each exit 2 with one line naming the file and what is wrong.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/graph/builder.js';
import { tensor } from '../../src/graph/ir.js';
import { fromOnnxBytes, toOnnxBytes } from '../../src/graph/onnx.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { Network } from '../../src/train/network.js';
import { Rng } from '../../src/util/rng.js';
import { dk, tempDir, writeMnistSubset } from '../cli/helpers.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/students/', import.meta.url));
const N_TRAIN = 600;
const N_TEST = 200;

let root: ReturnType<typeof tempDir>;
let data: string;
before(() => {
  root = tempDir('dk-students-');
  data = join(root.dir, 'mnist');
  writeMnistSubset(data, N_TRAIN, N_TEST);
});
after(() => root.cleanup());

/** Test errors of an ONNX file run by plain onnxruntime-node on the first N_TEST MNIST test images. */
async function ortErrors(file: string): Promise<number> {
  const m = loadBuiltinMnist();
  const s = await ort.InferenceSession.create(file);
  const x = new Float32Array(N_TEST * 784);
  // The same pixels dk reads from the IDX files (bytes / 255).
  for (let i = 0; i < x.length; i++) x[i] = Math.round(m.test.x[i] * 255) / 255;
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [N_TEST, 1, 28, 28]) });
  const p = out[s.outputNames[0]].data as Float32Array;
  let errors = 0;
  for (let i = 0; i < N_TEST; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (p[i * 10 + k] > p[i * 10 + best]) best = k;
    if (best !== m.test.y[i]) errors++;
  }
  await s.release();
  return errors;
}

/** The epochs' training losses from dk's log lines. */
const epochLosses = (stderr: string): number[] => [...stderr.matchAll(/epoch \d+\/\d+: loss ([\d.]+)/g)].map((m) => Number(m[1]));

/**
 * Training moved the student: the loss fell from the first epoch to the last. (The eval-form export
 * is the BN-folded net, which learns slowly from PyTorch's initialisation; the training form, with
 * its BatchNorm, learns fast and must also beat chance clearly.)
 */
function learned(stderr: string, stdout: string, form: 'eval' | 'train'): void {
  const l = epochLosses(stderr);
  assert.ok(l.length >= 2 && l[l.length - 1] < l[0], `the training loss did not fall: ${l.join(', ')}`);
  if (form === 'train') assert.ok(testErrors(stdout) < N_TEST * 0.8, `test errors ${testErrors(stdout)}/${N_TEST}`);
}

const testErrors = (stdout: string): number => {
  const m = /test errors (\d+)\/(\d+)/.exec(stdout);
  assert.ok(m, `no test errors in: ${stdout}`);
  return Number(m[1]);
};

/** The saved graph is the given one: op types and node names in order, graph inputs/outputs, opset. */
function sameGraph(saved: Uint8Array, given: Uint8Array): void {
  const a = fromOnnxBytes(saved);
  const b = fromOnnxBytes(given);
  assert.deepEqual(a.nodes.map((n) => `${n.op} ${n.name}`), b.nodes.map((n) => `${n.op} ${n.name}`));
  assert.deepEqual(a.inputs.map((v) => v.name), b.inputs.map((v) => v.name));
  assert.deepEqual(a.outputs.map((v) => v.name), b.outputs.map((v) => v.name));
  assert.equal(a.opset, b.opset);
  assert.deepEqual([...a.initializers.keys()], [...b.initializers.keys()]);
}

describe('ONNX students exported by PyTorch', () => {
  for (const form of ['eval', 'train'] as const) {
    it(`dk train --model resnet-${form}.onnx: trains, saves the same graph with new weights, and plain onnxruntime agrees`, async () => {
      const given = join(FIX, `resnet-${form}.onnx`);
      const out = join(root.dir, `trained-${form}.onnx`);
      const r = dk(['train', '--model', given, '--data', data, '--epochs', '4', '--batch', '32', '--lr', '0.2', '--threads', '1', '--out', out], root.dir, 120_000);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /ONNX student .*trained on the logits before its final Softmax/);
      learned(r.stderr, r.stdout, form);
      const errors = testErrors(r.stdout);
      const saved = new Uint8Array(readFileSync(out));
      const givenBytes = new Uint8Array(readFileSync(given));
      sameGraph(saved, givenBytes);
      const w0 = fromOnnxBytes(givenBytes).initializers;
      const moved = [...fromOnnxBytes(saved).initializers].filter(([k, t]) => t.dtype === 'float32' && t.data.some((v, i) => v !== w0.get(k)!.data[i]));
      assert.ok(moved.length >= 10, `only ${moved.length} initializers changed`);
      if (form === 'train') {
        // Saved in inference form: BN on its running statistics (what dk evaluated), one output each.
        const bns = fromOnnxBytes(saved).nodes.filter((n) => n.op === 'BatchNormalization');
        assert.ok(bns.length > 0 && bns.every((n) => !n.attrs.training_mode && n.outputs.length === 1));
      }
      assert.equal(await ortErrors(out), errors, 'plain onnxruntime-node on the saved file vs the test errors dk train reported');
      const e = dk(['eval', '--model', out, '--data', data, '--json', '--threads', '1'], root.dir);
      assert.equal(e.status, 0, e.stderr);
      assert.equal((JSON.parse(e.stdout) as { errors: number }).errors, errors, 'dk eval on the saved file');
    });
  }

  it('dk distill --student resnet-{train,eval}.onnx learns from a teacher', () => {
    const teacher = join(root.dir, 'teacher.onnx');
    const t = dk(['train', '--model', 'mlp:64', '--data', data, '--epochs', '5', '--threads', '1', '--out', teacher], root.dir);
    assert.equal(t.status, 0, t.stderr);
    for (const form of ['train', 'eval'] as const) {
      const out = join(root.dir, `distilled-${form}.onnx`);
      const r = dk(['distill', '--teacher', teacher, '--student', join(FIX, `resnet-${form}.onnx`), '--data', data, '--epochs', '4', '--batch', '32', '--lr', '0.2', '--temperature', '4', '--threads', '1', '--no-cache', '--out', out], root.dir, 120_000);
      assert.equal(r.status, 0, r.stderr);
      learned(r.stderr, r.stdout, form);
      sameGraph(new Uint8Array(readFileSync(out)), new Uint8Array(readFileSync(join(FIX, `resnet-${form}.onnx`))));
    }
  });

  it('a student saved with unchanged weights is the given file, byte for byte', () => {
    const given = new Uint8Array(readFileSync(join(FIX, 'resnet-eval.onnx')));
    assert.ok(Buffer.from(Network.fromStudentFile(given, 'resnet-eval.onnx').toOnnx()).equals(Buffer.from(given)));
  });
});

/** A tiny foreign student [N,1,28,28] → Flatten → Gemm(784→10), with `extra` nodes before the Gemm. */
function foreignStudent(o: { extra?: 'floor' | 'autopad'; inShape?: number[]; noWeights?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder('foreign_student');
  const rng = new Rng(3);
  const inShape = o.inShape ?? [1, 28, 28];
  let h = g.input('image', 'float32', ['N', ...inShape]);
  if (o.extra === 'autopad') {
    const w = g.initializer('conv.weight', tensor('float32', [1, 1, 3, 3], Float32Array.from({ length: 9 }, () => rng.normal() * 0.3)));
    h = g.op('Conv', [h, w], { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER' }, { out: [{ dtype: 'float32', shape: ['N', 1, 28, 28] }] });
  }
  const flat = g.op('Flatten', [h], { axis: 1 });
  const D = inShape.reduce((a, b) => a * b, 1);
  const W = o.noWeights ? g.const(tensor('float32', [10, D], new Float32Array(10 * D)), 'w') : g.initializer('fc.weight', tensor('float32', [10, D], Float32Array.from({ length: 10 * D }, () => rng.normal() * 0.01)));
  let y = o.noWeights ? g.op('Gemm', [flat, W], { transB: 1 }) : g.op('Gemm', [flat, W, g.initializer('fc.bias', tensor('float32', [10], new Float32Array(10)))], { transB: 1 });
  // Between the weights and the loss, so the gradient has to pass it.
  if (o.extra === 'floor') y = g.op('Floor', [y]);
  g.output(y, 'logits');
  const bytes = toOnnxBytes(g.build());
  if (!o.noWeights) return bytes;
  // No float initializers at all: the weights as a Constant node instead.
  const gc = fromOnnxBytes(bytes);
  const [wName, wT] = [...gc.initializers].find(([, t]) => t.dtype === 'float32')!;
  gc.initializers.delete(wName);
  gc.nodes.unshift({ name: 'weights', op: 'Constant', domain: '', inputs: [], outputs: [wName], attrs: { value: { type: 'tensor', value: wT } } });
  return toOnnxBytes(gc);
}

describe('ONNX students: refusals (exit 2, one line, no file written)', () => {
  const cases: { name: string; bytes: () => Uint8Array; expect: RegExp }[] = [
    { name: 'an op with no gradient rule', bytes: () => foreignStudent({ extra: 'floor' }), expect: /s\.onnx: cannot be trained: no gradient rule for op 'Floor' \(node 'Floor'\)/ },
    { name: 'an attribute a rule does not handle', bytes: () => foreignStudent({ extra: 'autopad' }), expect: /s\.onnx: cannot be trained: node 'Conv' \(Conv\): auto_pad='SAME_UPPER' is not supported/ },
    { name: 'no float initializers', bytes: () => foreignStudent({ noWeights: true }), expect: /s\.onnx: the graph has no float initializers to train/ },
    { name: 'an input shape that does not fit the data', bytes: () => foreignStudent({ inShape: [1, 10, 10] }), expect: /s\.onnx: takes examples of shape \[1,10,10\] but the data has \[1,28,28\]/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const file = join(root.dir, 's.onnx');
      writeFileSync(file, c.bytes());
      const out = join(root.dir, `refused-${c.name.replace(/\W+/g, '-')}.onnx`);
      const r = dk(['train', '--model', file, '--data', data, '--epochs', '1', '--threads', '1', '--out', out], root.dir);
      assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('dk: '));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], c.expect);
      assert.throws(() => readFileSync(out), 'no model written');
    });
  }
});
