/**
 * Flags that say how a foreign model is fed and read: `--teacher-mean`, `--teacher-std`,
 * `--teacher-layout`, `--teacher-output` for dk distill's teachers, and the same without the
 * prefix (`--mean`, `--std`, `--layout`, `--output`) for dk eval's model.
 *
 * Values for several teachers: layout and output names are comma lists, one entry per teacher
 * in order; mean and std are comma lists over channels, with ':' between teachers
 * (`--teacher-mean 0.485,0.456,0.406:0.5`). One entry applies to every teacher. The flags keep
 * their text as given (so the effective config records them as typed); perTeacherPrep() turns
 * them into one TeacherPrep per teacher.
 */
import type { Command } from 'commander';
import { type TeacherLayout, type TeacherPrep, TEACHER_LAYOUTS } from '../distill/modes.js';
import { UsageError } from '../util/errors.js';
import type { SchemaParser } from './parse.js';

const SCHEMA = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'array', items: { type: ['number', 'string'] }, minItems: 1 }] };

function parser(flag: string, check: (raw: string) => void): SchemaParser<string> {
  return Object.assign(
    (raw: string): string => {
      const s = String(raw).trim();
      check(s);
      return s;
    },
    { schema: SCHEMA },
  );
}

function numberGroups(flag: string, raw: string, positive: boolean): number[][] {
  return raw.split(':').map((g) =>
    g.split(',').map((p) => {
      const t = p.trim();
      const v = t === '' ? NaN : Number(t);
      if (!Number.isFinite(v) || (positive && !(v > 0))) {
        throw new UsageError(`--${flag}: expected ${positive ? 'positive ' : ''}numbers, one per channel (or one for all), comma-separated, with ':' between teachers (e.g. 0.485,0.456,0.406); got '${raw}'`);
      }
      return v;
    }),
  );
}

function names(flag: string, raw: string): string[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--${flag}: expected comma-separated output names, got '${raw}'`);
  return parts;
}

function layouts(flag: string, raw: string): TeacherLayout[] {
  return raw.split(',').map((p) => {
    const t = p.trim();
    if (!(TEACHER_LAYOUTS as readonly string[]).includes(t)) throw new UsageError(`--${flag}: expected ${TEACHER_LAYOUTS.join(', ')} (comma-separated, one per teacher), got '${raw}'`);
    return t as TeacherLayout;
  });
}

/** The flag values (as strings) under their option attribute names. */
export interface PrepFlags {
  mean?: string;
  std?: string;
  layout?: string;
  output?: string;
}

/**
 * Add the four flags to `cmd`, named `--<prefix>mean` etc. (prefix 'teacher-' or ''); `what`
 * names the model(s) in the help text.
 */
export function addPrepFlags(cmd: Command, prefix: 'teacher-' | '', what: string): Command {
  const f = (k: string) => `${prefix}${k}`;
  const several = prefix ? "; ':' between teachers" : '';
  return cmd
    .option(`--${f('mean')} <m[,m,m]>`, `subtract this per-channel mean from the [0,1] pixels before ${what} (one value: all channels${several})`, parser(f('mean'), (s) => numberGroups(f('mean'), s, false)))
    .option(`--${f('std')} <s[,s,s]>`, `then divide by this per-channel standard deviation (one value: all channels${several})`, parser(f('std'), (s) => numberGroups(f('std'), s, true)))
    .option(`--${f('layout')} <auto|nchw|nhwc>`, `${what}'s image layout: channels first or last; 'auto' decides from its input shape${prefix ? ' (comma-separated: one per teacher)' : ''}`, parser(f('layout'), (s) => layouts(f('layout'), s)))
    .option(`--${f('output')} <name>`, `the output of ${what} that holds the class scores (default: the one shaped [N, classes])${prefix ? ' (comma-separated: one per teacher)' : ''}`, parser(f('output'), (s) => names(f('output'), s)));
}

/** The flags of addPrepFlags as read by commander (attribute names of `--teacher-mean` etc.). */
export function prepFlagsOf(opts: Record<string, unknown>, prefix: 'teacher-' | ''): PrepFlags {
  const get = (k: string) => opts[prefix ? `teacher${k[0].toUpperCase()}${k.slice(1)}` : k] as string | undefined;
  return { mean: get('mean'), std: get('std'), layout: get('layout'), output: get('output') };
}

/**
 * One TeacherPrep per teacher (`count` of them). Each flag holds one entry for all, or exactly
 * one per teacher; any other count is an error naming the flag.
 */
export function perTeacherPrep(flags: PrepFlags, count: number, prefix: 'teacher-' | ''): TeacherPrep[] {
  const spread = <T>(flag: string, values: T[] | undefined, sep: string): (T | undefined)[] => {
    if (values === undefined) return new Array<T | undefined>(count).fill(undefined);
    if (values.length === 1) return new Array<T>(count).fill(values[0]);
    if (values.length === count) return values;
    const them = count === 1 ? 'the one model' : `the ${count} teachers`;
    throw new UsageError(`--${prefix}${flag}: ${values.length} entries (separated by '${sep}') for ${them}; give one for all${count > 1 ? ' or one per teacher' : ''}`);
  };
  const mean = spread('mean', flags.mean === undefined ? undefined : numberGroups(`${prefix}mean`, flags.mean, false), ':');
  const std = spread('std', flags.std === undefined ? undefined : numberGroups(`${prefix}std`, flags.std, true), ':');
  const layout = spread('layout', flags.layout === undefined ? undefined : layouts(`${prefix}layout`, flags.layout), ',');
  const output = spread('output', flags.output === undefined ? undefined : names(`${prefix}output`, flags.output), ',');
  return Array.from({ length: count }, (_, i) => {
    const p: TeacherPrep = {};
    if (mean[i] !== undefined) p.mean = mean[i];
    if (std[i] !== undefined) p.std = std[i];
    if (layout[i] !== undefined) p.layout = layout[i];
    if (output[i] !== undefined) p.output = output[i];
    return p;
  });
}

/** Whether any of the flags was given. */
export function anyPrep(flags: PrepFlags): boolean {
  return flags.mean !== undefined || flags.std !== undefined || flags.layout !== undefined || flags.output !== undefined;
}
