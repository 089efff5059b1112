/**
 * Conversions from raw file arrays to the Dataset's fields: pixels to float32 in [0,1] and
 * labels to Int32Array, with value checks whose messages name the file.
 */
import { UsageError } from '../util/errors.js';

export type RawArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Largest class count accepted when it is inferred from the labels (guards against a pixel file given as labels). */
export const MAX_CLASSES = 65536;

const LUT_255 = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** The element type's name, for messages. */
export function rawTypeName(a: RawArray): string {
  return a.constructor.name.replace('Array', '').toLowerCase();
}

/**
 * Pixels as float32 in [0,1]: uint8 is scaled by 1/255; float32/float64 must already lie in
 * [0,1] (checked, with the first offending value named); other types are refused.
 */
export function toUnitFloat(data: RawArray, name: string): Float32Array {
  if (data instanceof Uint8Array) {
    const out = new Float32Array(data.length);
    const lut = LUT_255;
    for (let i = 0; i < data.length; i++) out[i] = lut[data[i]];
    return out;
  }
  if (data instanceof Float32Array || data instanceof Float64Array) {
    const out = data instanceof Float32Array ? data : Float32Array.from(data);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!(v >= 0 && v <= 1)) {
        throw new UsageError(
          `${name}: pixel value ${v} at element ${i} is outside [0,1]; float images must be scaled to [0,1] (or stored as uint8 0..255)`,
        );
      }
    }
    return out;
  }
  throw new UsageError(
    `${name}: ${rawTypeName(data)} pixels are not supported; expected uint8 (0..255, scaled by 1/255) or float32/float64 in [0,1]`,
  );
}

/**
 * Labels as Int32Array. Every label must be a non-negative integer, below `classes` when it is
 * given, otherwise below MAX_CLASSES. Returns the labels and the largest one.
 */
export function toLabels(data: RawArray, name: string, classes?: number): { y: Int32Array; max: number } {
  const limit = classes ?? MAX_CLASSES;
  const n = data.length;
  const y = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (!(Number.isInteger(v) && v >= 0 && v < limit)) {
      const expect =
        classes !== undefined
          ? `integers in [0, ${classes}) for ${classes} classes`
          : `non-negative integers below ${MAX_CLASSES}`;
      throw new UsageError(`${name}: label ${String(data[i])} at index ${i} is out of range; expected ${expect}`);
    }
    y[i] = v;
    if (v > max) max = v;
  }
  return { y, max };
}

/** Class count from the largest label seen (at least 2), or the declared count. */
export function inferClasses(maxLabel: number, declared?: number): number {
  if (declared !== undefined) return declared;
  return Math.max(2, maxLabel + 1);
}

/** Validate a declared class count (an option, e.g. `--classes`). */
export function checkClassesOption(classes: number | undefined): void {
  if (classes === undefined) return;
  if (!Number.isInteger(classes) || classes < 2 || classes > MAX_CLASSES) {
    throw new UsageError(`classes: expected an integer in [2, ${MAX_CLASSES}], got ${classes}`);
  }
}
