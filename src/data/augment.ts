/**
 * Input jitter: each image shifted by a random whole number of pixels, up to k in x and in y,
 * with zeros shifted in (the "jittered by up to 2 px" of Hinton et al.'s MNIST teacher).
 * Works on a batch in NCHW order; a flattened MLP batch (n × H·W) has the same memory layout,
 * so pass the image shape [H, W] or [1, H, W] with it.
 */
import type { Rng } from '../util/rng.js';

/** [C, H, W] from an image shape [C, H, W] or [H, W]. */
export function imageDims(shape: readonly number[]): [number, number, number] {
  const ok = (shape.length === 2 || shape.length === 3) && shape.every((d) => Number.isInteger(d) && d >= 1);
  if (!ok) throw new RangeError(`jitter: imageShape must be [C, H, W] or [H, W] of positive integers, got [${shape.join(', ')}]`);
  return shape.length === 3 ? [shape[0], shape[1], shape[2]] : [1, shape[0], shape[1]];
}

/**
 * Shift one image: dst(c, y, x) = src(c, y − dy, x − dx), zero where that falls outside.
 * Positive dx moves the content right, positive dy moves it down. `src` and `dst` must not
 * overlap. Exposed for tests; `jitterBatch` calls it per image.
 */
export function shiftImage(
  src: Float32Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  c: number,
  h: number,
  w: number,
  dx: number,
  dy: number,
): void {
  const plane = h * w;
  if (dx >= w || dx <= -w || dy >= h || dy <= -h) {
    dst.fill(0, dstOff, dstOff + c * plane);
    return;
  }
  // Rows [y0, y1) of dst have a source row; columns [x0, x1) a source column.
  const y0 = dy > 0 ? dy : 0;
  const y1 = dy < 0 ? h + dy : h;
  const x0 = dx > 0 ? dx : 0;
  const x1 = dx < 0 ? w + dx : w;
  const shift = dy * w + dx;
  for (let ch = 0; ch < c; ch++) {
    const dBase = dstOff + ch * plane;
    const sBase = srcOff + ch * plane;
    // One contiguous copy dst[p] = src[p − (dy·w + dx)] over rows [y0, y1), clamped to the
    // source plane; the columns that wrapped around a row edge are zeroed after.
    let a = dBase + y0 * w;
    let b = dBase + y1 * w;
    let sa = sBase + y0 * w - shift;
    let sb = sBase + y1 * w - shift;
    if (sa < sBase) {
      a += sBase - sa;
      sa = sBase;
    }
    if (sb > sBase + plane) {
      b -= sb - (sBase + plane);
      sb = sBase + plane;
    }
    dst.fill(0, dBase, a);
    dst.fill(0, b, dBase + plane);
    dst.set(src.subarray(sa, sb), a);
    if (x0 > 0) {
      for (let y = y0; y < y1; y++) {
        const d = dBase + y * w;
        for (let x = 0; x < x0; x++) dst[d + x] = 0;
      }
    } else if (x1 < w) {
      for (let y = y0; y < y1; y++) {
        const d = dBase + y * w;
        for (let x = x1; x < w; x++) dst[d + x] = 0;
      }
    }
  }
}

/**
 * Jitter a batch: for each of the n images draw dx then dy uniformly from {−k, …, k} (in that
 * order, two `rng.int(2k+1)` calls per image, so the stream is reproducible from the RNG
 * state) and write the shifted image to `dst`. No allocation; `src` and `dst` must be distinct
 * buffers of at least n·C·H·W floats. With k = 0, dst is a copy of src (and no RNG draws).
 * `shifts`, if given (length ≥ 2n), receives the drawn (dx, dy) pairs.
 */
export function jitterBatch(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  imageShape: readonly number[],
  k: number,
  rng: Rng,
  shifts?: Int32Array,
): void {
  const [c, h, w] = imageDims(imageShape);
  const size = c * h * w;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`jitter: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`jitter: k (max shift in pixels) must be a non-negative integer, got ${k}`);
  if (src.length < n * size) throw new RangeError(`jitter: src holds ${src.length} floats, ${n} images of [${c},${h},${w}] need ${n * size}`);
  if (dst.length < n * size) throw new RangeError(`jitter: dst holds ${dst.length} floats, ${n} images of [${c},${h},${w}] need ${n * size}`);
  if (src.buffer === dst.buffer) {
    const a = src.byteOffset;
    const b = dst.byteOffset;
    const bytes = n * size * 4;
    if (a < b + bytes && b < a + bytes) throw new RangeError('jitter: src and dst overlap; pass a separate output buffer');
  }
  if (shifts && shifts.length < 2 * n) throw new RangeError(`jitter: shifts holds ${shifts.length} ints, need ${2 * n}`);
  if (k === 0) {
    dst.set(src.subarray(0, n * size));
    if (shifts) shifts.fill(0, 0, 2 * n);
    return;
  }
  const span = 2 * k + 1;
  for (let i = 0; i < n; i++) {
    const dx = rng.int(span) - k;
    const dy = rng.int(span) - k;
    if (shifts) {
      shifts[2 * i] = dx;
      shifts[2 * i + 1] = dy;
    }
    shiftImage(src, i * size, dst, i * size, c, h, w, dx, dy);
  }
}
