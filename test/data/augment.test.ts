import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageDims, jitterBatch, shiftImage } from '../../src/data/augment.js';
import { Rng } from '../../src/util/rng.js';

function randomImages(n: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n * size);
  for (let i = 0; i < a.length; i++) a[i] = rng.float() * 0.999 + 0.001; // never 0, so zero fill is visible
  return a;
}

/** Per-pixel reference: dst(c,y,x) = src(c, y−dy, x−dx), else 0. */
function naiveShift(src: Float32Array, c: number, h: number, w: number, dx: number, dy: number): Float32Array {
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sy = y - dy;
        const sx = x - dx;
        if (sy >= 0 && sy < h && sx >= 0 && sx < w) out[ch * h * w + y * w + x] = src[ch * h * w + sy * w + sx];
      }
    }
  }
  return out;
}

describe('shiftImage', () => {
  it('moves a single pixel by known amounts', () => {
    const src = new Float32Array(5 * 6);
    src[2 * 6 + 3] = 0.75; // (y=2, x=3)
    const dst = new Float32Array(30).fill(9);
    shiftImage(src, 0, dst, 0, 1, 5, 6, 2, -1); // right 2, up 1 → (y=1, x=5)
    const expected = new Float32Array(30);
    expected[1 * 6 + 5] = 0.75;
    assert.deepEqual(dst, expected);
  });

  it('matches a per-pixel reference for every shift, in channels and non-square images', () => {
    for (const [c, h, w] of [
      [1, 28, 28],
      [3, 4, 7],
      [2, 6, 3],
      [1, 1, 5],
      [1, 5, 1],
    ]) {
      const size = c * h * w;
      const src = randomImages(1, size, c * 100 + h * 10 + w);
      for (let dy = -h - 1; dy <= h + 1; dy++) {
        for (let dx = -w - 1; dx <= w + 1; dx++) {
          const dst = new Float32Array(size + 4).fill(-1);
          shiftImage(src, 0, dst, 2, c, h, w, dx, dy);
          assert.deepEqual(dst.subarray(2, 2 + size), naiveShift(src, c, h, w, dx, dy), `[${c},${h},${w}] dx=${dx} dy=${dy}`);
          // Never writes outside its image.
          assert.deepEqual(Array.from(dst.subarray(0, 2)), [-1, -1]);
          assert.deepEqual(Array.from(dst.subarray(2 + size)), [-1, -1]);
        }
      }
    }
  });
});

describe('jitterBatch', () => {
  const n = 16;
  const shape = [1, 28, 28];
  const src = randomImages(n, 784, 42);

  it('k = 0 is the identity', () => {
    const dst = new Float32Array(n * 784);
    jitterBatch(src, dst, n, shape, 0, new Rng(1));
    assert.deepEqual(dst, src);
  });

  it('same seed gives the same output; another seed differs', () => {
    const a = new Float32Array(n * 784);
    const b = new Float32Array(n * 784);
    const c = new Float32Array(n * 784);
    jitterBatch(src, a, n, shape, 2, new Rng(7));
    jitterBatch(src, b, n, shape, 2, new Rng(7));
    jitterBatch(src, c, n, shape, 2, new Rng(8));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('draws dx, dy in {-k..k} per image and applies them', () => {
    const dst = new Float32Array(n * 784);
    const shifts = new Int32Array(2 * n);
    jitterBatch(src, dst, n, shape, 2, new Rng(3), shifts);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const dx = shifts[2 * i];
      const dy = shifts[2 * i + 1];
      assert.ok(Math.abs(dx) <= 2 && Math.abs(dy) <= 2);
      seen.add(dx);
      const expected = naiveShift(src.subarray(i * 784, (i + 1) * 784), 1, 28, 28, dx, dy);
      assert.deepEqual(dst.subarray(i * 784, (i + 1) * 784), expected);
    }
    assert.ok(seen.size > 1, 'shifts vary');
    // The RNG stream: two int(2k+1) draws per image, dx first.
    const rng = new Rng(3);
    for (let i = 0; i < n; i++) {
      assert.equal(shifts[2 * i], rng.int(5) - 2);
      assert.equal(shifts[2 * i + 1], rng.int(5) - 2);
    }
  });

  it('treats a flattened n × H·W batch with shape [H, W] like NCHW', () => {
    const a = new Float32Array(n * 784);
    const b = new Float32Array(n * 784);
    jitterBatch(src, a, n, [28, 28], 1, new Rng(5));
    jitterBatch(src, b, n, [1, 28, 28], 1, new Rng(5));
    assert.deepEqual(a, b);
  });

  it('leaves the part of dst beyond n images untouched and only reads n images', () => {
    const dst = new Float32Array(20 * 784).fill(-1);
    jitterBatch(src, dst, 8, shape, 2, new Rng(2));
    assert.ok(dst.subarray(8 * 784).every((v) => v === -1));
  });

  it('is fast: a batch of 128 MNIST images in well under 1 ms', () => {
    const big = randomImages(128, 784, 9);
    const out = new Float32Array(128 * 784);
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) jitterBatch(big, out, 128, shape, 2, rng);
    const reps = 300;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) jitterBatch(big, out, 128, shape, 2, rng);
    const ms = (performance.now() - t0) / reps;
    assert.ok(ms < 1, `${ms.toFixed(3)} ms per batch`);
  });

  it('refuses bad arguments with RangeErrors naming them', () => {
    const dst = new Float32Array(n * 784);
    const rng = new Rng(1);
    assert.throws(() => jitterBatch(src, dst, n, shape, -1, rng), /k \(max shift/);
    assert.throws(() => jitterBatch(src, dst, n, shape, 1.5, rng), /k \(max shift/);
    assert.throws(() => jitterBatch(src, dst, n + 1, shape, 1, rng), /src holds/);
    assert.throws(() => jitterBatch(src, dst.subarray(1), n, shape, 1, rng), /dst holds/);
    assert.throws(() => jitterBatch(src, src, n, shape, 1, rng), /overlap/);
    assert.throws(() => jitterBatch(src, dst, n, [784], 1, rng), /imageShape/);
    assert.throws(() => jitterBatch(src, dst, n, shape, 1, rng, new Int32Array(3)), /shifts/);
    assert.throws(() => imageDims([0, 28]), RangeError);
  });
});
