/** Teacher preprocessing (normalisation, layout), the CLI's per-teacher lists, and float16 casts at the runtime boundary. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MODEL_PARAMS, prepareRows, resolveLayout, resolveNormalisation } from '../../src/distill/preprocess.js';
import { perTeacherPrep } from '../../src/cli/teacher-flags.js';
import { fromHalfBits, toHalfBits } from '../../src/runtime/float16.js';
import { UsageError } from '../../src/util/errors.js';
import { describeForCli } from '../../src/cli/flags.js';

/** A UsageError whose message, as the CLI words it (a library parameter problem in flags), holds every part. */
const usage = (...parts: (string | RegExp)[]) => (e: Error) => {
  if (!(e instanceof UsageError)) return false;
  const m = e.problem ? describeForCli(e.problem) : e.message;
  return parts.every((p) => (typeof p === 'string' ? m.includes(p) : p.test(m)));
};

describe('teacher preprocessing', () => {
  it('normalises per channel and lays out channels last, value by value', () => {
    // Two examples of [2,1,3]: channel c, pixel i holds 0.1·(10·r + 3·c + i) for row r.
    const shape = [2, 1, 3];
    const x = new Float32Array(12);
    for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) x[r * 6 + c * 3 + i] = 0.01 * (10 * r + 3 * c + i);
    const norm = resolveNormalisation({ mean: [0.5, 0.25], std: [2, 4] }, shape, 't');
    const out = new Float32Array(12);
    prepareRows(x, 0, 2, shape, { ...norm, layout: 'nhwc' }, out);
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < 3; i++) {
          const want = Math.fround((x[r * 6 + c * 3 + i] - [0.5, 0.25][c]) / [2, 4][c]);
          assert.equal(out[r * 6 + i * 2 + c], want, `row ${r} channel ${c} pixel ${i}`);
        }
      }
    }
    // Rows from an offset; nchw with no normalisation is a plain copy.
    const copy = new Float32Array(6);
    prepareRows(x, 1, 1, shape, { mean: null, std: null, layout: 'nchw' }, copy);
    assert.deepEqual(copy, x.subarray(6));
    // One value applies to every channel.
    const one = resolveNormalisation({ std: [0.5] }, [3, 2, 2], 't');
    assert.deepEqual([...one.std!], [0.5, 0.5, 0.5]);
    assert.deepEqual([...one.mean!], [0, 0, 0]);
  });

  it('refuses a wrong count of values, std ≤ 0, and channels-last for non-image data', () => {
    assert.throws(() => resolveNormalisation({ mean: [0.1, 0.2] }, [3, 8, 8], 't.onnx'), usage('--teacher-mean', '2 values for t.onnx', '3 channels', 'give 1 value'));
    assert.throws(() => resolveNormalisation({ std: [0.2, 0.2, 0.2] }, [1, 8, 8], 't', MODEL_PARAMS), usage('--std', '3 values', '1 channel'));
    assert.throws(() => resolveNormalisation({ std: [0] }, [1, 8, 8], 't'), usage('--teacher-std', 'positive'));
    assert.throws(() => resolveLayout('nhwc', [64], [64], 't'), usage('--teacher-layout nhwc', '[64]'));
  });

  it("'auto' layout: decided when only one order fits or there is one channel, otherwise asks for the flag", () => {
    assert.equal(resolveLayout('auto', [28, 28, 3], [3, 28, 28], 't').layout, 'nhwc');
    assert.equal(resolveLayout('auto', ['h', 'w', 3], [3, 28, 28], 't').layout, 'nhwc');
    assert.equal(resolveLayout('auto', [3, 32, 32], [3, 32, 32], 't').layout, 'nchw');
    assert.equal(resolveLayout('auto', [28, 28, 1], [1, 28, 28], 't').layout, 'nchw', 'one channel: both orders are the same values');
    assert.equal(resolveLayout('auto', [784], [1, 28, 28], 't').layout, 'nchw');
    assert.equal(resolveLayout('nhwc', ['c', 'h', 'w'], [3, 8, 8], 't').layout, 'nhwc', 'an explicit layout wins');
    assert.throws(() => resolveLayout('auto', ['c', 'h', 'w'], [3, 8, 8], 't.onnx'), usage('--teacher t.onnx', 'cannot tell the input layout', 'fits both', '--teacher-layout nchw or nhwc'));
    assert.throws(() => resolveLayout('auto', [3, 3, 3], [3, 3, 3], 't'), usage('fits both'));
    assert.throws(() => resolveLayout('auto', [192], [3, 8, 8], 't', MODEL_PARAMS), usage('--model t', '[N,192]', '--layout nchw or nhwc'));
  });

  it('per-teacher lists: one entry for all, one per teacher, anything else refused', () => {
    assert.deepEqual(perTeacherPrep({ mean: '0.485,0.456,0.406', layout: 'nhwc' }, 2, 'teacher-'), [
      { mean: [0.485, 0.456, 0.406], layout: 'nhwc' },
      { mean: [0.485, 0.456, 0.406], layout: 'nhwc' },
    ]);
    assert.deepEqual(perTeacherPrep({ mean: '0.5:0.1,0.2,0.3', std: '0.25', layout: 'auto,nchw', output: 'logits,out' }, 2, 'teacher-'), [
      { mean: [0.5], std: [0.25], layout: 'auto', output: 'logits' },
      { mean: [0.1, 0.2, 0.3], std: [0.25], layout: 'nchw', output: 'out' },
    ]);
    assert.deepEqual(perTeacherPrep({}, 1, ''), [{}]);
    assert.throws(() => perTeacherPrep({ mean: '0.1:0.2:0.3' }, 2, 'teacher-'), usage('--teacher-mean', '3 entries', "':'", 'the 2 teachers'));
    assert.throws(() => perTeacherPrep({ layout: 'nchw,nhwc' }, 1, ''), usage('--layout', '2 entries', 'the one model'));
    assert.throws(() => perTeacherPrep({ std: '0.2,-1' }, 1, ''), usage('--std', 'positive', "'0.2,-1'"));
    assert.throws(() => perTeacherPrep({ layout: 'hwc' }, 1, 'teacher-'), usage('--teacher-layout', 'auto, nchw, nhwc', "'hwc'"));
  });
});

describe('float16 at the runtime boundary', () => {
  it('rounds to nearest, ties to even, and converts back exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // the largest half
      [65520, 0x7c00], // halfway to the next: ties to even → Infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // a tie between 0 and it: even
      [1.5 * 2 ** -24, 0x0002], // a tie between 1 and 2 ulps: even
      [2 ** -14, 0x0400], // the smallest normal
      [1 + 2 ** -11, 0x3c00], // a tie: down to even
      [1 + 3 * 2 ** -11, 0x3c02], // a tie: up to even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
      [0.1, 0x2e66],
    ];
    for (const [v, bits] of cases) assert.equal(toHalfBits(v), bits, `${v} → 0x${toHalfBits(v).toString(16)}, expected 0x${bits.toString(16)}`);
    assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
    // Every finite half survives the round trip.
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (Number.isFinite(v)) assert.equal(toHalfBits(v), h === 0x8000 ? 0x8000 : h, `0x${h.toString(16)}`);
    }
  });
});
