/**
 * Flag value parsers: every bad value is a UsageError naming the flag and what was expected.
 */
import { UsageError } from '../util/errors.js';

/** A flag parser may carry the JSON schema of its value, used to validate --config files (src/cli/config.ts). */
export type SchemaParser<T> = ((raw: string) => T) & { schema?: Record<string, unknown> };

function withSchema<T>(fn: (raw: string) => T, schema: Record<string, unknown>): SchemaParser<T> {
  return Object.assign(fn, { schema });
}

export function num(flag: string, opts: { min?: number; max?: number; int?: boolean; minExclusive?: boolean } = {}): SchemaParser<number> {
  const schema: Record<string, unknown> = { type: opts.int ? 'integer' : 'number' };
  if (opts.min !== undefined) schema[opts.minExclusive ? 'exclusiveMinimum' : 'minimum'] = opts.min;
  if (opts.max !== undefined) schema.maximum = opts.max;
  return withSchema((raw: string): number => {
    const s = raw.trim();
    const v = s === '' ? NaN : Number(s);
    const what = opts.int ? 'an integer' : 'a number';
    if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v))) throw new UsageError(`--${flag}: expected ${what}, got '${raw}'`);
    if (opts.min !== undefined && (opts.minExclusive ? v <= opts.min : v < opts.min)) {
      throw new UsageError(`--${flag}: must be ${opts.minExclusive ? '>' : '≥'} ${opts.min}, got ${v}`);
    }
    if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${flag}: must be ≤ ${opts.max}, got ${v}`);
    return v;
  }, schema);
}

export function choice<T extends string>(flag: string, values: readonly T[]): SchemaParser<T> {
  return withSchema((raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) throw new UsageError(`--${flag}: expected one of ${values.join(', ')}; got '${raw}'`);
    return raw as T;
  }, { type: 'string', enum: [...values] });
}

export function intList(flag: string): SchemaParser<number[]> {
  return withSchema((raw: string): number[] => {
    const parts = raw.split(',').map((s) => s.trim());
    return parts.map((p) => {
      const v = Number(p);
      if (p === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--${flag}: expected a comma-separated list of non-negative integers, got '${raw}'`);
      return v;
    });
  }, { anyOf: [{ type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 }, { type: 'string' }] });
}

/** A non-negative integer, or 'auto'. */
export function intOrAuto(flag: string, min = 0): SchemaParser<number | 'auto'> {
  return withSchema((raw: string): number | 'auto' => {
    const s = raw.trim();
    if (s === 'auto') return 'auto';
    const v = s === '' ? NaN : Number(s);
    if (!(Number.isInteger(v) && v >= min)) throw new UsageError(`--${flag}: expected ${min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`} or 'auto', got '${raw}'`);
    return v;
  }, { anyOf: [{ type: 'integer', minimum: min }, { const: 'auto' }] });
}

/** A held-out split's size: a count ≥ 1 or a fraction in (0, 1). */
export function holdoutAmount(flag = 'holdout'): SchemaParser<number> {
  return withSchema((raw: string): number => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v) || !((v > 0 && v < 1) || (Number.isInteger(v) && v >= 1))) {
      throw new UsageError(`--${flag}: expected a count ≥ 1 or a fraction in (0, 1), got '${raw}'`);
    }
    return v;
  }, { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }] });
}
