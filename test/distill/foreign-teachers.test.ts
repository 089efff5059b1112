/**
 * Teachers made outside dark-knowledge (test/fixtures/teachers, written once by PyTorch through
 * make_teachers.py): a float32 export, its float16-weight, bfloat16-weight, external-data,
 * float16-I/O, int8 QDQ and int8 QLinear variants (the QLinear one with its exact integer
 * reference, make_qlinear.py), and one with two outputs. Each goes to
 * onnxruntime as it is; outputs are compared with torch's own (reference.json) and with each
 * other. The cache key follows the external data file.
 */
import { describeForCli } from '../../src/cli/flags.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { cacheKey, teacherTargets } from '../../src/distill/cache.js';
import { OnnxTeacher, combineTeachers, readTeacherFile, teacherHash } from '../../src/distill/teacher.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { fromOnnxBytes } from '../../src/graph/onnx.js';
import { argmaxRows } from '../../src/util/softmax.js';
import { UsageError } from '../../src/util/errors.js';
import { tempDir } from '../data/helpers.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { modelInputShape } from '../../src/nn/spec.js';
import { Rng } from '../../src/util/rng.js';
import { RT, relErr } from './helpers.js';

/** The fixtures, in the source tree (dist/test/distill → test/fixtures/teachers). */
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/teachers/', import.meta.url));
const fx = (f: string) => join(FIXTURES, f);
const ref = JSON.parse(readFileSync(fx('reference.json'), 'utf8')) as { cnn_logits: number[]; cnn_qdq_logits: number[] };
const qref = JSON.parse(readFileSync(fx('qlinear-reference.json'), 'utf8')) as { logits: number[] };

let probe: Dataset;
const tmp = tempDir('dk-foreign-');
after(tmp.cleanup);

async function outputsOf(file: string, data = probe, prep = {}): Promise<{ out: Float32Array; logs: string[] }> {
  const logs: string[] = [];
  const t = await OnnxTeacher.load(readTeacherFile(file), { shape: data.shape, classes: 10 }, { runtime: RT, prep, progress: (e) => e.kind === 'log' && logs.push(e.text) });
  try {
    return { out: await t.outputs(data), logs };
  } finally {
    await t.release();
  }
}

function agreement(a: Float32Array, b: ArrayLike<number>, n: number): number {
  const pa = argmaxRows(a, n, 10);
  const pb = argmaxRows(Float32Array.from(b), n, 10);
  let same = 0;
  for (let i = 0; i < n; i++) same += pa[i] === pb[i] ? 1 : 0;
  return same / n;
}

describe('foreign teachers (made by PyTorch)', () => {
  before(() => {
    const m = loadBuiltinMnist();
    // The first 64 test images, as torch saw them in make_teachers.py (pixels / 255).
    probe = { x: m.test.x.slice(0, 64 * 784), y: m.test.y.slice(0, 64), n: 64, shape: [1, 28, 28], classes: 10, source: 'mnist:test[0:64]' };
  });

  it('the float32 export gives torch\'s logits', async () => {
    const { out } = await outputsOf(fx('cnn.onnx'));
    assert.ok(relErr(out, ref.cnn_logits) < 1e-5, `relErr ${relErr(out, ref.cnn_logits)}`);
  });

  it('float16 weights (behind Cast), external data and float16 input/output give the same outputs to 1e-3', async () => {
    const { out: base } = await outputsOf(fx('cnn.onnx'));
    // Our own decoder refuses these files: the teacher path must not use it.
    assert.throws(() => fromOnnxBytes(readFileSync(fx('cnn-fp16w.onnx'))), /unsupported data type 10/);
    assert.throws(() => fromOnnxBytes(readFileSync(fx('cnn-ext.onnx'))), /external data/);
    for (const v of ['cnn-fp16w.onnx', 'cnn-ext.onnx', 'cnn-fp16io.onnx']) {
      const { out, logs } = await outputsOf(fx(v));
      const e = relErr(out, base);
      assert.ok(e < 1e-3, `${v}: relErr ${e}`);
      assert.ok(e > 0 || v === 'cnn-ext.onnx', `${v}: identical outputs from a lower-precision model?`);
      assert.equal(agreement(out, base, probe.n), 1, v);
      if (v === 'cnn-fp16io.onnx') assert.ok(logs.some((l) => /input 'input' is float16/.test(l)), logs.join('\n'));
    }
    // External data: exactly the float32 model.
    assert.deepEqual((await outputsOf(fx('cnn-ext.onnx'))).out, base);
  });

  it('bfloat16 weights: within bfloat16 precision (2^-8 per weight), same predictions', async () => {
    const { out: base } = await outputsOf(fx('cnn.onnx'));
    const { out } = await outputsOf(fx('cnn-bf16w.onnx'));
    const e = relErr(out, base);
    assert.ok(e < 5e-3 && e > 1e-5, `relErr ${e}`);
    assert.ok(agreement(out, base, probe.n) >= 63 / 64);
  });

  it('int8 QDQ gives torch\'s fake-quantized logits; int8 QLinear ops give the integer arithmetic exactly, close to the float model', async () => {
    const { out: qdq } = await outputsOf(fx('cnn-qdq.onnx'));
    assert.ok(relErr(qdq, ref.cnn_qdq_logits) < 1e-5, `QDQ relErr ${relErr(qdq, ref.cnn_qdq_logits)}`);
    const { out: ql } = await outputsOf(fx('cnn-qlinear.onnx'));
    // make_qlinear.py's integer reference (7-bit weights: exact on every CPU, see there).
    let worst = 0;
    for (let i = 0; i < ql.length; i++) worst = Math.max(worst, Math.abs(ql[i] - qref.logits[i]));
    assert.ok(worst <= 1e-6, `QLinear differs from the integer reference by up to ${worst}`);
    // Integer arithmetic with requantised activations: about a per cent of the logit range.
    const e = relErr(ql, ref.cnn_logits);
    assert.ok(e < 0.02 && e > 1e-3, `QLinear relErr ${e} from the float model`);
    assert.ok(agreement(ql, ref.cnn_logits, probe.n) >= 62 / 64, `QLinear agreement ${agreement(ql, ref.cnn_logits, probe.n)}`);
  });

  it('several outputs: the [N,10] one by default, or the one named; a wrong name lists the outputs', async () => {
    const { out: base } = await outputsOf(fx('cnn.onnx'));
    const { out, logs } = await outputsOf(fx('cnn-multi.onnx'));
    assert.deepEqual(out, base);
    assert.ok(logs.some((l) => /2 outputs .*'features' \[batch,676\].*using 'logits'/.test(l)), logs.join('\n'));
    assert.deepEqual((await outputsOf(fx('cnn-multi.onnx'), probe, { output: 'logits' })).out, base);
    await assert.rejects(outputsOf(fx('cnn-multi.onnx'), probe, { output: 'probs' }), (e: Error) => e instanceof UsageError && /^teacher\.output probs/.test(e.message) && /^--teacher-output probs/.test(describeForCli(e.problem!)) && /'features' \[batch,676\], 'logits' \[batch,10\]/.test(e.message));
    await assert.rejects(outputsOf(fx('cnn-multi.onnx'), probe, { output: 'features' }), (e: Error) => e instanceof UsageError && /'features' has shape \[batch,676\]/.test(e.message));
  });

  it('the teacher hash and cache key cover the external data file; a missing data file is named', async () => {
    const d = join(tmp.dir, 'ext');
    mkdirSync(d);
    copyFileSync(fx('cnn-ext.onnx'), join(d, 'cnn-ext.onnx'));
    copyFileSync(fx('cnn-ext.onnx.data'), join(d, 'cnn-ext.onnx.data'));
    const a = readTeacherFile(join(d, 'cnn-ext.onnx'));
    assert.deepEqual(a.external!.map((e) => e.location), ['cnn-ext.onnx.data']);
    const spec = (t: typeof a) => ({ teachers: [t] });
    const cache = join(tmp.dir, 'cache');
    const r1 = await teacherTargets(spec(a), probe, { cacheDir: cache, runtime: RT });
    const r2 = await teacherTargets(spec(readTeacherFile(join(d, 'cnn-ext.onnx'))), probe, { cacheDir: cache, runtime: RT });
    assert.equal(r1.fromCache, false);
    assert.equal(r2.fromCache, true);
    // Change one weight in the data file (the .onnx file itself is untouched).
    const data = readFileSync(join(d, 'cnn-ext.onnx.data'));
    data.writeFloatLE(data.readFloatLE(0) + 0.5, 0);
    writeFileSync(join(d, 'cnn-ext.onnx.data'), data);
    const b = readTeacherFile(join(d, 'cnn-ext.onnx'));
    assert.deepEqual(b.bytes, a.bytes);
    assert.notEqual(teacherHash(b), teacherHash(a));
    assert.notEqual(cacheKey(spec(b), 'h'), cacheKey(spec(a), 'h'));
    const r3 = await teacherTargets(spec(b), probe, { cacheDir: cache, runtime: RT });
    assert.equal(r3.fromCache, false, 'a changed external data file must not be served from the cache');
    assert.notDeepEqual(r3.logProbs, r1.logProbs);
    // Preprocessing is part of the key too.
    assert.notEqual(cacheKey({ ...spec(a), prep: [{ mean: [0.1] }] }, 'h'), cacheKey(spec(a), 'h'));
    assert.equal(cacheKey({ ...spec(a), prep: [{ layout: 'auto' }] }, 'h'), cacheKey(spec(a), 'h'));
    rmSync(join(d, 'cnn-ext.onnx.data'));
    assert.throws(() => readTeacherFile(join(d, 'cnn-ext.onnx')), (e: Error) => e instanceof UsageError && /external data file 'cnn-ext\.onnx\.data'/.test(e.message) && /ENOENT/.test(e.message));
    // Given as bytes only, its data files cannot be found: refused with a message saying so.
    await assert.rejects(OnnxTeacher.load({ name: 'cnn-ext.onnx', bytes: a.bytes }, { shape: [1, 28, 28], classes: 10 }, { runtime: RT }), /external data files \(cnn-ext\.onnx\.data\)/);
  });

  it('our own models are fed the data as stored: no layout question on colour data, the same logits as the network itself', async () => {
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 50 * 48 }, () => rng.float());
    const rgb: Dataset = { x, y: new Int32Array(50), n: 50, shape: [3, 4, 4], classes: 3, source: 'random-rgb' };
    for (const spec of ['mlp:8', 'cnn:2:4']) {
      const net = Network.create({ spec, inputShape: modelInputShape(spec, [3, 4, 4]), classes: 3, options: {} }, 1);
      const t = await OnnxTeacher.load({ name: `${spec}.onnx`, bytes: net.toOnnx() }, { shape: [3, 4, 4], classes: 3 }, { runtime: RT });
      assert.ok(t.ours);
      assert.deepEqual(await t.outputs(rgb), await networkLogits(net, rgb, RT), spec);
      await t.release();
    }
  });

  it('an ensemble takes each member\'s preprocessing in order', async () => {
    // 3-channel images (p, 255 − p, p // 2) from the probe, for the channels-last teacher.
    const x = new Float32Array(probe.n * 2352);
    for (let i = 0; i < probe.n; i++) {
      for (let k = 0; k < 784; k++) {
        const p = Math.round(probe.x[i * 784 + k] * 255);
        x[i * 2352 + k] = p / 255;
        x[i * 2352 + 784 + k] = (255 - p) / 255;
        x[i * 2352 + 1568 + k] = (p >> 1) / 255;
      }
    }
    const rgb: Dataset = { ...probe, x, shape: [3, 28, 28], source: 'probe-rgb' };
    const norm = { mean: [0.13, 0.87, 0.065], std: [0.31, 0.31, 0.155] };
    const a = (await outputsOf(fx('nhwc3.onnx'), rgb, norm)).out;
    const b = (await outputsOf(fx('nhwc3.onnx'), rgb, { layout: 'nhwc' })).out;
    assert.ok(relErr(a, b) > 0.05, 'the two preprocessings differ');
    const t = [readTeacherFile(fx('nhwc3.onnx')), readTeacherFile(fx('nhwc3.onnx'))];
    const both = await teacherTargets({ teachers: t, prep: [norm, { layout: 'nhwc' }] }, rgb, { cacheDir: null, runtime: RT });
    const swapped = await teacherTargets({ teachers: t, prep: [{ layout: 'nhwc' }, norm] }, rgb, { cacheDir: null, runtime: RT });
    const want = combineTeachers([{ out: a, kind: 'logits' }, { out: b, kind: 'logits' }], rgb.n, 10, 'mean');
    assert.deepEqual(both.logProbs, want);
    assert.ok(relErr(swapped.logProbs, want) < 1e-6, 'preps swapped with the same two members: the same mean (each member got its own prep, not the first one)');
    const geo = await teacherTargets({ teachers: t, prep: [norm, { layout: 'nhwc' }], ensemble: 'geomean' }, rgb, { cacheDir: null, runtime: RT });
    assert.deepEqual(geo.logProbs, combineTeachers([{ out: a, kind: 'logits' }, { out: b, kind: 'logits' }], rgb.n, 10, 'geomean'));
  });

  it('without external data the teacher hash is the sha256 of the file, as cache keys have always used', () => {
    const src = readTeacherFile(fx('cnn.onnx'));
    assert.deepEqual(src.external, []);
    assert.equal(teacherHash(src), createHash('sha256').update(readFileSync(fx('cnn.onnx'))).digest('hex'));
  });
});
