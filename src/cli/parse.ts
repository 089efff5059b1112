/**
 * Flag value parsers: every bad value is a UsageError naming the flag and what was expected.
 */
import { UsageError } from '../util/errors.js';

export function num(flag: string, opts: { min?: number; max?: number; int?: boolean; minExclusive?: boolean } = {}) {
  return (raw: string): number => {
    const s = raw.trim();
    const v = s === '' ? NaN : Number(s);
    const what = opts.int ? 'an integer' : 'a number';
    if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v))) throw new UsageError(`--${flag}: expected ${what}, got '${raw}'`);
    if (opts.min !== undefined && (opts.minExclusive ? v <= opts.min : v < opts.min)) {
      throw new UsageError(`--${flag}: must be ${opts.minExclusive ? '>' : '≥'} ${opts.min}, got ${v}`);
    }
    if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${flag}: must be ≤ ${opts.max}, got ${v}`);
    return v;
  };
}

export function choice<T extends string>(flag: string, values: readonly T[]) {
  return (raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) throw new UsageError(`--${flag}: expected one of ${values.join(', ')}; got '${raw}'`);
    return raw as T;
  };
}

export function intList(flag: string) {
  return (raw: string): number[] => {
    const parts = raw.split(',').map((s) => s.trim());
    return parts.map((p) => {
      const v = Number(p);
      if (p === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--${flag}: expected a comma-separated list of non-negative integers, got '${raw}'`);
      return v;
    });
  };
}
