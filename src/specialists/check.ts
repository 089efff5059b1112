/**
 * Argument checks shared by the specialists modules (internal; not re-exported).
 * Bad arguments in library calls are programming errors: TypeError for a wrong type,
 * RangeError for a bad value, and the message names the parameter and the valid values.
 */

export type Floats = Float32Array | Float64Array;
export type Labels = Int32Array | Uint8Array | Uint16Array | Uint32Array | readonly number[];

export function checkClasses(C: unknown, fn: string, param = 'C'): number {
  if (typeof C !== 'number') throw new TypeError(`${fn}: ${param} must be a number, got ${typeof C}`);
  if (!Number.isInteger(C) || C < 2) throw new RangeError(`${fn}: ${param} must be an integer >= 2, got ${C}`);
  return C;
}

export function checkFloats(a: unknown, fn: string, param: string): Floats {
  if (!(a instanceof Float32Array) && !(a instanceof Float64Array)) {
    throw new TypeError(`${fn}: ${param} must be a Float32Array or Float64Array`);
  }
  return a;
}

/** Number of rows of a flat row-major n×cols matrix; throws when the length does not divide. */
export function rowsOf(a: ArrayLike<number>, cols: number, fn: string, param: string): number {
  if (a.length % cols !== 0) {
    throw new RangeError(`${fn}: ${param}.length (${a.length}) must be a multiple of ${cols} (n × ${cols})`);
  }
  return a.length / cols;
}

export function checkLabels(y: unknown, C: number, fn: string, param = 'labels'): Labels {
  const ok =
    Array.isArray(y) ||
    y instanceof Int32Array ||
    y instanceof Uint8Array ||
    y instanceof Uint16Array ||
    y instanceof Uint32Array;
  if (!ok) throw new TypeError(`${fn}: ${param} must be an Int32Array, Uint8Array, Uint16Array, Uint32Array or number[]`);
  const arr = y as Labels;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) {
      throw new RangeError(`${fn}: ${param}[${i}] = ${v} is not a class id in [0, ${C - 1}]`);
    }
  }
  return arr;
}

/**
 * A group: distinct integer class ids in [0, C), at least one, fewer than C (a group holding
 * every class leaves the dustbin empty). Returns the ids sorted ascending (a copy).
 */
export function checkGroup(group: unknown, C: number, fn: string, param = 'group'): number[] {
  if (!Array.isArray(group) && !(group instanceof Int32Array)) {
    throw new TypeError(`${fn}: ${param} must be an array of class ids`);
  }
  const g = Array.from(group as ArrayLike<number>);
  if (g.length < 1 || g.length >= C) {
    throw new RangeError(`${fn}: ${param} must hold between 1 and ${C - 1} classes (C = ${C}), got ${g.length}`);
  }
  const seen = new Set<number>();
  for (const c of g) {
    if (!Number.isInteger(c) || c < 0 || c >= C) {
      throw new RangeError(`${fn}: ${param} holds ${c}, not a class id in [0, ${C - 1}]`);
    }
    if (seen.has(c)) throw new RangeError(`${fn}: ${param} holds class ${c} twice`);
    seen.add(c);
  }
  return g.sort((a, b) => a - b);
}

export function checkPositiveInt(v: unknown, fn: string, param: string, min = 1): number {
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${param} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${param} must be an integer >= ${min}, got ${v}`);
  return v;
}

export function checkProbRows(P: Floats, C: number, fn: string, param: string, tol = 1e-3): void {
  const n = rowsOf(P, C, fn, param);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) {
      const v = P[i * C + k];
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(`${fn}: ${param}[${i}, ${k}] = ${v}; probabilities must be finite and >= 0`);
      }
      s += v;
    }
    if (Math.abs(s - 1) > tol) {
      throw new RangeError(`${fn}: row ${i} of ${param} sums to ${s}; each row must be a probability vector (sum 1 ± ${tol})`);
    }
  }
}
