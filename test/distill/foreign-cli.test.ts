/**
 * Foreign teachers through the CLI: a channels-last, normalised teacher made by PyTorch scored by
 * `dk eval --mean --std --layout`, checked against plain onnxruntime-node on the same
 * preprocessed tensors; `dk distill` from a teacher with external data and float16 weights, with
 * the preprocessing recorded in the student's .config.json.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { encodeNpy } from '../../src/data/npy.js';
import { argmaxRows } from '../../src/util/softmax.js';
import { dk, tempDir, writeMnistSubset } from '../cli/helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/teachers/', import.meta.url));
const fx = (f: string) => join(FIXTURES, f);
const ref = JSON.parse(readFileSync(fx('reference.json'), 'utf8')) as { nhwc3: { mean: number[]; std: number[] } };
const { mean, std } = ref.nhwc3;

const { dir: root, cleanup } = tempDir('dk-foreign-cli-');
after(cleanup);
const rgbDir = join(root, 'rgb');
const N_TEST = 1000;
let rgbTest: Uint8Array; // [N,3,28,28]
let testLabels: Int32Array;

/** MNIST pixels p as the 3 channels (p, 255 − p, p // 2), channels first (as make_teachers.py makes them, channels last). */
function rgb(x: Float32Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3 * 784);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 784; k++) {
      const p = Math.round(x[i * 784 + k] * 255);
      out[i * 2352 + k] = p;
      out[i * 2352 + 784 + k] = 255 - p;
      out[i * 2352 + 1568 + k] = p >> 1;
    }
  }
  return out;
}

describe('foreign teachers through the CLI', () => {
  before(() => {
    const m = loadBuiltinMnist();
    mkdirSync(rgbDir);
    rgbTest = rgb(m.test.x, N_TEST);
    testLabels = m.test.y.slice(0, N_TEST);
    writeFileSync(join(rgbDir, 'x_train.npy'), encodeNpy([200, 3, 28, 28], rgb(m.train.x, 200)));
    writeFileSync(join(rgbDir, 'y_train.npy'), encodeNpy([200], m.train.y.slice(0, 200)));
    writeFileSync(join(rgbDir, 'x_test.npy'), encodeNpy([N_TEST, 3, 28, 28], rgbTest));
    writeFileSync(join(rgbDir, 'y_test.npy'), encodeNpy([N_TEST], testLabels));
  });

  it('dk eval --mean --std --layout on an NHWC teacher: the errors plain onnxruntime-node gives on the same preprocessed tensors', async (t) => {
    // The reference: (p/255 − mean[c]) / std[c], laid out [N,28,28,3], straight into onnxruntime.
    const x = new Float32Array(N_TEST * 2352);
    for (let i = 0; i < N_TEST; i++) {
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < 784; k++) x[i * 2352 + k * 3 + c] = (Math.fround(rgbTest[i * 2352 + c * 784 + k] / 255) - mean[c]) / std[c];
      }
    }
    const s = await ort.InferenceSession.create(fx('nhwc3.onnx'));
    const z = (await s.run({ input: new ort.Tensor('float32', x, [N_TEST, 28, 28, 3]) })).logits.data as Float32Array;
    await s.release();
    const pred = argmaxRows(z, N_TEST, 10);
    let errors = 0;
    const perClassWrong = new Array(10).fill(0);
    for (let i = 0; i < N_TEST; i++) {
      if (pred[i] !== testLabels[i]) {
        errors++;
        perClassWrong[testLabels[i]]++;
      }
    }
    assert.ok(errors < 0.15 * N_TEST, `the teacher should be a real classifier: ${errors} errors`);

    const args = ['eval', '--model', fx('nhwc3.onnx'), '--data', rgbDir, '--threads', '1', '--mean', mean.join(','), '--std', std.join(','), '--json'];
    for (const layout of ['nhwc', 'auto']) {
      const r = dk([...args, '--layout', layout], root);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { errors: number; total: number; perClass: number[] };
      assert.equal(j.total, N_TEST);
      assert.equal(j.errors, errors, `--layout ${layout}: dk eval ${j.errors} errors, onnxruntime ${errors}`);
      if (layout === 'auto') assert.match(r.stderr, /channels-last; examples \[3,28,28\] are fed as \[28,28,3\]/);
    }
    // Without the normalisation the same teacher is far worse: the flags are what made the difference.
    const raw = dk(['eval', '--model', fx('nhwc3.onnx'), '--data', rgbDir, '--threads', '1', '--json'], root);
    assert.equal(raw.status, 0, raw.stderr);
    const rawErrors = JSON.parse(raw.stdout).errors as number;
    assert.ok(rawErrors > errors + 100, raw.stdout);
    t.diagnostic(`nhwc3 on ${N_TEST} test images: onnxruntime ${errors} errors = dk eval (nhwc and auto); without --mean/--std ${rawErrors}`);
  });

  it('dk eval on foreign models: --output, --bias and --compare work as for our own', () => {
    const base = ['eval', '--data', 'mnist', '--threads', '1', '--json'];
    const one = (...a: string[]) => {
      const r = dk([...base, ...a], root, 120_000);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const cnn = one('--model', fx('cnn.onnx'));
    assert.equal(one('--model', fx('cnn-multi.onnx'), '--output', 'logits').errors, cnn.errors);
    const cmp = one('--model', fx('cnn.onnx'), '--compare', fx('cnn-qlinear.onnx'));
    assert.equal(cmp.errors, cnn.errors);
    assert.ok(cmp.compare && Math.abs(cmp.compare.errors - cnn.errors) < 50 && cmp.compare.pValue > 0, JSON.stringify(cmp.compare));
    // A huge offset on class 0 makes every prediction 0: errors = examples not of class 0.
    const biased = one('--model', fx('cnn.onnx'), '--bias', '0=+1000');
    assert.equal(biased.errors, biased.total - 980);
  });

  it('dk distill from a teacher with external data, and from float16 weights: same teacher test errors; preprocessing recorded in .config.json', (t) => {
    const data = join(root, 'mnist');
    writeMnistSubset(data, 600, 300);
    const cwd = join(root, 'distill');
    mkdirSync(cwd);
    // The teacher lives elsewhere; its data file sits next to it, found through its path.
    mkdirSync(join(cwd, 'teachers'));
    copyFileSync(fx('cnn-ext.onnx'), join(cwd, 'teachers', 'cnn-ext.onnx'));
    copyFileSync(fx('cnn-ext.onnx.data'), join(cwd, 'teachers', 'cnn-ext.onnx.data'));
    const run = (teacher: string, out: string, ...more: string[]) => {
      const r = dk(['distill', '--teacher', teacher, '--student', 'mlp:32', '--data', data, '--epochs', '2', '--batch', '32', '--threads', '1', '--out', out, ...more], cwd, 120_000);
      assert.equal(r.status, 0, r.stderr);
      const m = /teacher test errors (\d+)\/300/.exec(r.stdout);
      assert.ok(m, r.stdout);
      return { errors: Number(m[1]), r };
    };
    const a = run('teachers/cnn-ext.onnx', 's1.onnx', '--teacher-mean', '0', '--teacher-std', '1', '--teacher-layout', 'nchw');
    const b = run(fx('cnn-fp16w.onnx'), 's2.onnx');
    t.diagnostic(`teacher test errors /300: external data ${a.errors}, float16 weights ${b.errors}`);
    assert.equal(a.errors, b.errors);
    assert.ok(a.errors < 40, `teacher errors ${a.errors}/300`);
    const cfg = JSON.parse(readFileSync(join(cwd, 's1.onnx.config.json'), 'utf8'));
    assert.equal(cfg['teacher-mean'], '0');
    assert.equal(cfg['teacher-std'], '1');
    assert.equal(cfg['teacher-layout'], 'nchw');
    // The recorded config runs again as it is.
    const again = dk(['distill', '--config', 's1.onnx.config.json', '--out', 's3.onnx'], cwd, 120_000);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr + again.stdout, /read from cache/);
  });
});
