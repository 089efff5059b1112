/**
 * The specialists manifest: a JSON file written next to the specialists' `.onnx` files that
 * says which generalist they belong to and how to read each specialist's outputs.
 *
 * {
 *   "version": 1,
 *   "generalist": { "file": "g.onnx", "sha256": "<64 hex>" },
 *   "classes": 10,                       // C of the generalist
 *   "temperature": 2,                    // T of the soft outputs used for the covariance and targets
 *   "groups": [[3, 5, 8], [4, 9]],       // every group found (sorted, distinct)
 *   "specialists": [{
 *     "file": "specialist-0.onnx",       // plain file name, in the manifest's directory
 *     "sha256": "<64 hex>",
 *     "group": [3, 5, 8],                // ascending; output i ↔ class group[i], output |G| = dustbin
 *     "classMap": [3,3,3,0,3,1,3,3,2,3], // length C: the specialist output of each class
 *     "dustbinBias": 1.386,              // log(oversamplingFactor), already added to the .onnx's
 *                                        // out.bias[dustbin] (a record; not applied again)
 *     "oversamplingFactor": 4,
 *     "epochs": 10,
 *     "seed": 1
 *   }]
 * }
 *
 * The file is user input: problems are UsageErrors naming the field (`specialists[1].sha256`).
 */
import { UsageError } from '../util/errors.js';
import { classMap } from './fold.js';
import { sha256Hex } from '../util/hash.js';

export const MANIFEST_VERSION = 1;

export interface SpecialistEntry {
  file: string;
  sha256: string;
  group: number[];
  classMap: number[];
  dustbinBias: number;
  oversamplingFactor: number;
  epochs: number;
  seed: number;
}

export interface SpecialistsManifest {
  version: typeof MANIFEST_VERSION;
  generalist: { file?: string; sha256: string };
  classes: number;
  temperature: number;
  groups: number[][];
  specialists: SpecialistEntry[];
}

export { sha256Hex };

const HEX64 = /^[0-9a-f]{64}$/;
const PLAIN_FILE = /^[A-Za-z0-9._-]+$/;

class Checker {
  constructor(readonly source: string) {}
  fail(path: string, msg: string): never {
    throw new UsageError(`${this.source}: ${path} ${msg}`);
  }
  object(v: unknown, path: string, keys: { required: string[]; optional?: string[] }): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'must be a JSON object');
    const o = v as Record<string, unknown>;
    const allowed = new Set([...keys.required, ...(keys.optional ?? [])]);
    for (const k of keys.required) if (!(k in o)) this.fail(path, `is missing "${k}"`);
    for (const k of Object.keys(o)) {
      if (!allowed.has(k)) this.fail(path, `has an unknown key "${k}" (known: ${[...allowed].join(', ')})`);
    }
    return o;
  }
  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${JSON.stringify(v)}`);
    }
    return v;
  }
  num(v: unknown, path: string, what: string, ok: (x: number) => boolean): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) this.fail(path, `must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  }
  hash(v: unknown, path: string): string {
    if (typeof v !== 'string' || !HEX64.test(v)) this.fail(path, `must be a SHA-256 as 64 lower-case hex digits, got ${JSON.stringify(v)}`);
    return v;
  }
  file(v: unknown, path: string): string {
    if (typeof v !== 'string' || !PLAIN_FILE.test(v) || v === '.' || v === '..') {
      this.fail(path, `must be a plain file name (letters, digits, . _ -; no directories), got ${JSON.stringify(v)}`);
    }
    return v;
  }
  group(v: unknown, path: string, C: number): number[] {
    if (!Array.isArray(v) || v.length < 1 || v.length > C - 1) {
      this.fail(path, `must be a list of 1 to ${C - 1} class ids (C = ${C}), got ${JSON.stringify(v)}`);
    }
    v.forEach((c, i) => {
      this.int(c, `${path}[${i}]`, 0, C - 1);
      if (i > 0 && !(c > v[i - 1])) this.fail(path, `must be strictly ascending, got ${JSON.stringify(v)}`);
    });
    return v as number[];
  }
}

/**
 * Check that `json` (a parsed manifest) has the manifest's shape and is self-consistent:
 * class maps agree with their groups, dustbinBias is finite, every specialist's group is
 * listed in `groups`, file names are distinct. Returns it typed; throws UsageError otherwise.
 */
export function validateManifest(json: unknown, source = 'specialists manifest'): SpecialistsManifest {
  const ck = new Checker(source);
  const o = ck.object(json, 'the manifest', {
    required: ['version', 'generalist', 'classes', 'temperature', 'groups', 'specialists'],
  });
  if (o.version !== MANIFEST_VERSION) {
    ck.fail('version', `must be ${MANIFEST_VERSION} (the only version this build reads), got ${JSON.stringify(o.version)}`);
  }
  const gen = ck.object(o.generalist, 'generalist', { required: ['sha256'], optional: ['file'] });
  ck.hash(gen.sha256, 'generalist.sha256');
  if (gen.file !== undefined && typeof gen.file !== 'string') ck.fail('generalist.file', 'must be a string');
  const C = ck.int(o.classes, 'classes', 2);
  ck.num(o.temperature, 'temperature', 'a number > 0', (x) => x > 0);
  if (!Array.isArray(o.groups)) ck.fail('groups', 'must be a list of groups');
  const groupKeys = new Set<string>();
  (o.groups as unknown[]).forEach((g, i) => {
    const key = ck.group(g, `groups[${i}]`, C).join(',');
    if (groupKeys.has(key)) ck.fail(`groups[${i}]`, `repeats the group [${key}]`);
    groupKeys.add(key);
  });
  if (!Array.isArray(o.specialists)) ck.fail('specialists', 'must be a list');
  const files = new Set<string>();
  (o.specialists as unknown[]).forEach((s0, i) => {
    const p = `specialists[${i}]`;
    const s = ck.object(s0, p, {
      required: ['file', 'sha256', 'group', 'classMap', 'dustbinBias', 'oversamplingFactor', 'epochs', 'seed'],
    });
    const file = ck.file(s.file, `${p}.file`);
    if (files.has(file)) ck.fail(`${p}.file`, `repeats the file name "${file}"`);
    files.add(file);
    ck.hash(s.sha256, `${p}.sha256`);
    const g = ck.group(s.group, `${p}.group`, C);
    if (!groupKeys.has(g.join(','))) ck.fail(`${p}.group`, `[${g.join(', ')}] is not one of the manifest's groups`);
    const expected = classMap(g, C).toSpecialist;
    const cm = s.classMap;
    if (!Array.isArray(cm) || cm.length !== C || cm.some((v, c) => v !== expected[c])) {
      ck.fail(`${p}.classMap`, `must list, for each of the C = ${C} classes, its specialist output (group position, ${g.length} for the dustbin): expected ${JSON.stringify(Array.from(expected))}, got ${JSON.stringify(cm)}`);
    }
    ck.num(s.dustbinBias, `${p}.dustbinBias`, 'a finite number', () => true);
    ck.num(s.oversamplingFactor, `${p}.oversamplingFactor`, 'a number > 0', (x) => x > 0);
    ck.int(s.epochs, `${p}.epochs`, 0);
    ck.int(s.seed, `${p}.seed`, -0x80000000, 0xffffffff);
  });
  return json as SpecialistsManifest;
}

/** JSON text → validated manifest (UsageError for invalid JSON or content). */
export function parseManifest(text: string, source = 'specialists manifest'): SpecialistsManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  return validateManifest(json, source);
}

/**
 * Refuse a manifest made for another generalist: the class count and the generalist file's
 * SHA-256 must both match. The message names both values.
 */
export function checkManifestMatchesGeneralist(
  manifest: SpecialistsManifest,
  generalist: { classes: number; sha256: string; name?: string },
  source = 'specialists manifest',
): void {
  const name = generalist.name ?? 'the generalist';
  if (manifest.classes !== generalist.classes) {
    throw new UsageError(
      `${source} is for a generalist with ${manifest.classes} classes, but ${name} has ${generalist.classes} classes`,
    );
  }
  if (manifest.generalist.sha256 !== generalist.sha256.toLowerCase()) {
    throw new UsageError(
      `${source} is for a generalist with sha256 ${manifest.generalist.sha256}, but ${name} has sha256 ${generalist.sha256.toLowerCase()}; the specialists were trained from another model`,
    );
  }
}

/** Refuse a specialist file whose bytes do not hash to the manifest's sha256 (names both). */
export function checkSpecialistFile(entry: SpecialistEntry, sha256: string, source = 'specialists manifest'): void {
  if (entry.sha256 !== sha256.toLowerCase()) {
    throw new UsageError(
      `${source}: ${entry.file} has sha256 ${sha256.toLowerCase()}, but the manifest lists ${entry.sha256}; the file was changed or replaced`,
    );
  }
}

/** A manifest entry with the class map computed from the group and dustbinBias = log(factor). */
export function specialistEntry(args: {
  file: string;
  sha256: string;
  group: readonly number[];
  classes: number;
  oversamplingFactor: number;
  epochs: number;
  seed: number;
  /** Default log(oversamplingFactor). */
  dustbinBias?: number;
}): SpecialistEntry {
  const map = classMap(args.group, args.classes);
  if (!(args.oversamplingFactor > 0)) {
    throw new RangeError(`specialistEntry: oversamplingFactor must be > 0, got ${args.oversamplingFactor}`);
  }
  return {
    file: args.file,
    sha256: args.sha256,
    group: map.group,
    classMap: Array.from(map.toSpecialist),
    dustbinBias: args.dustbinBias ?? Math.log(args.oversamplingFactor),
    oversamplingFactor: args.oversamplingFactor,
    epochs: args.epochs,
    seed: args.seed,
  };
}
