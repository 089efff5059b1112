/**
 * The teacher-output cache. Teacher outputs over a dataset are computed once (batched, at full
 * ORT speed, with a progress bar), combined into float32 log-probabilities (targets.ts,
 * teacher.ts) and kept on disk, keyed by
 *
 *   sha256( format version, LOG_PROB_FLOOR, each teacher's hash in order (its file's sha256;
 *           with external data, over the file's and each data file's sha256 — teacherHash),
 *           each teacher's preprocessing when it has one (mean, std, layout, output name),
 *           ensemble mode, --teacher-outputs (auto|logits|probs), datasetHash(data) )
 *
 * Rows are always the dataset's examples in load order, so row i is example id i; a subset
 * (with `ids`) looks its rows up by id, and shuffling can never misalign a target with its input.
 *
 * File format (`<cache-dir>/<key>.dkt`, little-endian, written atomically):
 *   0  'DKTC'            magic
 *   4  u32 version (1)
 *   8  u32 n             rows (examples)
 *  12  u32 C             classes
 *  16  32 bytes          key (raw sha256)
 *  48  32 bytes          sha256 of the float32 payload
 *  80  u32 metaLen       then metaLen bytes of JSON (teacher names and kinds), zero-padded to 4
 *   …  n·C float32       log-probabilities, row-major
 * On read every field is checked (magic, version, n, C, key, exact length, payload hash, finite
 * values); a file that fails any check is recomputed and rewritten, with a log line — never trusted.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { datasetHash } from '../data/hash.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { ProgressSink } from '../util/progress.js';
import { LOG_PROB_FLOOR, type TeacherKind } from './targets.js';
import { prepIsDefault } from './preprocess.js';
import { type EnsembleMode, type TeacherOutputs, type TeacherPrep, type TeacherSource, OnnxTeacher, combineTeachers, teacherHash } from './teacher.js';

export const CACHE_MAGIC = 'DKTC';
export const CACHE_VERSION = 1;
export const DEFAULT_CACHE_DIR = '.dk-cache';
const HEADER = 84;

export interface TeacherSpec {
  teachers: TeacherSource[];
  ensemble?: EnsembleMode;
  outputs?: TeacherOutputs;
  /** Per teacher, in order: normalisation, layout, output choice (missing entries: none). */
  prep?: (TeacherPrep | undefined)[];
}

export interface CacheMeta {
  teachers: { name: string; sha256: string; kind: TeacherKind }[];
  ensemble: EnsembleMode;
  outputs: TeacherOutputs;
}

export interface TeacherTargetsResult {
  /** n × classes float32 log-probabilities; row i is example id i of the dataset. */
  logProbs: Float32Array;
  n: number;
  classes: number;
  key: string;
  /** The cache file used or written (null with the cache off or when writing failed). */
  file: string | null;
  fromCache: boolean;
  /** Each teacher's output kind (declared or detected). */
  kinds: TeacherKind[];
  /** Time spent (reading, or running the teachers). */
  seconds: number;
}

export interface TeacherTargetsOptions {
  /** Cache directory (default '.dk-cache' in the working directory); null turns the cache off. */
  cacheDir?: string | null;
  runtime?: RuntimeOptions;
  progress?: ProgressSink;
  /** Label for progress bars (e.g. 'train', 'test'). */
  label?: string;
  /** Compute the teacher outputs as shard jobs on this Redis queue (src/queue/teacher-jobs.ts) instead of here; the result is the same bytes. */
  redis?: string;
}

/** The cache key (hex sha256) for these teachers, options and data. */
export function cacheKey(spec: TeacherSpec, dataHash: string): string {
  const h = createHash('sha256');
  h.update(`dark-knowledge/teacher-cache/v${CACHE_VERSION}\nfloor=${LOG_PROB_FLOOR}\n`);
  spec.teachers.forEach((t, i) => {
    h.update(`teacher=${teacherHash(t)}\n`);
    const p = spec.prep?.[i];
    if (!prepIsDefault(p)) h.update(`prep=${JSON.stringify({ mean: p!.mean, std: p!.std, layout: p!.layout, output: p!.output })}\n`);
  });
  h.update(`ensemble=${spec.ensemble ?? 'mean'}\noutputs=${spec.outputs ?? 'auto'}\ndata=${dataHash}\n`);
  return h.digest('hex');
}

/** Serialise rows and meta in the format above. */
export function encodeCache(key: string, n: number, C: number, rows: Float32Array, meta: CacheMeta): Uint8Array {
  if (rows.length !== n * C) throw new RangeError(`encodeCache: expected ${n}×${C} values, got ${rows.length}`);
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const metaPad = (metaBytes.length + 3) & ~3;
  const payload = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
  const buf = Buffer.alloc(HEADER + metaPad + payload.length);
  buf.write(CACHE_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(CACHE_VERSION, 4);
  buf.writeUInt32LE(n, 8);
  buf.writeUInt32LE(C, 12);
  Buffer.from(key, 'hex').copy(buf, 16);
  createHash('sha256').update(payload).digest().copy(buf, 48);
  buf.writeUInt32LE(metaBytes.length, 80);
  metaBytes.copy(buf, HEADER);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(buf, HEADER + metaPad);
  return buf;
}

/** Parse and check a cache file's bytes; returns the rows, or a reason it cannot be used. */
export function decodeCache(bytes: Uint8Array, expect: { key: string; n: number; C: number }): { rows: Float32Array; meta: CacheMeta } | { error: string } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER) return { error: `too short (${b.length} bytes)` };
  if (b.toString('latin1', 0, 4) !== CACHE_MAGIC) return { error: 'bad magic' };
  const version = b.readUInt32LE(4);
  if (version !== CACHE_VERSION) return { error: `format version ${version}, expected ${CACHE_VERSION}` };
  const n = b.readUInt32LE(8);
  const C = b.readUInt32LE(12);
  if (n !== expect.n || C !== expect.C) return { error: `holds ${n}×${C} rows, expected ${expect.n}×${expect.C}` };
  if (b.toString('hex', 16, 48) !== expect.key) return { error: 'key mismatch' };
  const metaLen = b.readUInt32LE(80);
  const metaPad = (metaLen + 3) & ~3;
  const want = HEADER + metaPad + n * C * 4;
  if (b.length !== want) return { error: `length ${b.length} bytes, expected ${want}` };
  const payloadBytes = b.subarray(HEADER + metaPad);
  if (createHash('sha256').update(payloadBytes).digest('hex') !== b.toString('hex', 48, 80)) return { error: 'payload checksum mismatch' };
  let meta: CacheMeta;
  try {
    meta = JSON.parse(b.toString('utf8', HEADER, HEADER + metaLen)) as CacheMeta;
    if (!Array.isArray(meta.teachers)) throw new Error('no teacher list');
  } catch (e) {
    return { error: `unreadable metadata (${(e as Error).message})` };
  }
  // Copy into an aligned Float32Array (the buffer offset need not be a multiple of 4).
  const rows = new Float32Array(n * C);
  new Uint8Array(rows.buffer).set(payloadBytes);
  for (let i = 0; i < rows.length; i++) if (!Number.isFinite(rows[i])) return { error: `non-finite value at row ${Math.floor(i / C)}` };
  return { rows, meta };
}

/**
 * Teacher outputs over every row of `data`, as float32 log-probabilities indexed by example id:
 * read from the cache when a valid entry exists, else computed (each teacher once, batched) and
 * written. `data` must be a dataset as loaded (no `ids`): subsets look their rows up by id.
 */
export async function teacherTargets(spec: TeacherSpec, data: Dataset, opts: TeacherTargetsOptions = {}): Promise<TeacherTargetsResult> {
  if (data.ids) throw new RangeError('teacherTargets: pass the dataset as loaded (rows = example ids), not a subset; subsets look rows up by their ids');
  if (spec.teachers.length === 0) throw new RangeError('teacherTargets: no teachers');
  const t0 = performance.now();
  const log = (text: string) => opts.progress?.({ kind: 'log', text });
  const C = data.classes;
  const key = cacheKey(spec, datasetHash(data));
  const dir = opts.cacheDir === undefined ? DEFAULT_CACHE_DIR : opts.cacheDir;
  const file = dir === null ? null : resolve(dir, `${key}.dkt`);
  const what = opts.label ? ` (${opts.label}, ${data.n} examples)` : ` (${data.n} examples)`;
  if (file && existsSync(file)) {
    let r: ReturnType<typeof decodeCache>;
    try {
      r = decodeCache(new Uint8Array(readFileSync(file)), { key, n: data.n, C });
    } catch (e) {
      r = { error: `unreadable (${(e as Error).message})` };
    }
    if ('rows' in r) {
      log(`teacher outputs${what}: read from cache ${file} (teacher output kinds: ${r.meta.teachers.map((t) => t.kind).join(', ')})`);
      return { logProbs: r.rows, n: data.n, classes: C, key, file, fromCache: true, kinds: r.meta.teachers.map((t) => t.kind), seconds: (performance.now() - t0) / 1000 };
    }
    log(`teacher outputs${what}: cache file ${file} is unusable (${r.error}); recomputing`);
  }
  const members: { out: Float32Array; kind: TeacherKind }[] = [];
  const metaTeachers: CacheMeta['teachers'] = [];
  for (const [i, src] of spec.teachers.entries()) {
    const t = await OnnxTeacher.load(src, { shape: data.shape, classes: C }, { outputs: spec.outputs, prep: spec.prep?.[i], runtime: opts.runtime, progress: opts.progress });
    try {
      const label = `teacher ${basename(src.name)}${opts.label ? ` (${opts.label})` : ''}`;
      const out = opts.redis
        ? await remote(opts.redis, src, t, { outputs: spec.outputs ?? 'auto', prep: spec.prep?.[i] }, data, opts.progress, label, dir)
        : await t.outputs(data, opts.progress, label);
      const { kind, report } = t.resolveKind(out, data.n);
      log(report);
      members.push({ out, kind });
      metaTeachers.push({ name: src.name, sha256: t.sha256, kind });
    } finally {
      await t.release();
    }
  }
  const ensemble = spec.ensemble ?? 'mean';
  if (members.length > 1) log(`ensemble of ${members.length} teachers: ${ensemble === 'mean' ? 'arithmetic mean of probabilities' : 'geometric mean (mean of log-probabilities, renormalised)'}`);
  const logProbs = combineTeachers(members, data.n, C, ensemble);
  let written: string | null = null;
  if (file) {
    try {
      mkdirSync(dir!, { recursive: true });
      writeFileAtomic(file, encodeCache(key, data.n, C, logProbs, { teachers: metaTeachers, ensemble, outputs: spec.outputs ?? 'auto' }));
      written = file;
      log(`teacher outputs${what}: cached in ${file}`);
    } catch (e) {
      log(`teacher outputs${what}: could not write the cache (${(e as Error).message.split('\n')[0]}); continuing without it`);
    }
  }
  return { logProbs, n: data.n, classes: C, key, file: written, fromCache: false, kinds: members.map((m) => m.kind), seconds: (performance.now() - t0) / 1000 };
}

/**
 * The teacher's raw outputs from queue workers; with the cache on, finished shards are kept in
 * `<cache-dir>/jobs/` as they arrive, so a rerun after losing Redis sends only the rest.
 */
async function remote(url: string, ...a: [TeacherSource, OnnxTeacher, { outputs: TeacherOutputs; prep?: TeacherPrep }, Dataset, ProgressSink | undefined, string, string | null]): Promise<Float32Array> {
  const [{ remoteTeacherOutputs }, { KeptResults, KEPT_SUBDIR }] = await Promise.all([import('../queue/teacher-jobs.js'), import('../queue/kept.js')]);
  const [src, t, o, data, progress, label, dir] = a;
  return remoteTeacherOutputs(url, src, t, o, data, progress, label, dir === null ? null : new KeptResults(join(resolve(dir), KEPT_SUBDIR)));
}

/** The teacher rows for a subset's rows, gathered by example id (row r ← logProbs[ids[r]]). */
export function gatherRows(logProbs: Float32Array, C: number, ids: ArrayLike<number>): Float32Array {
  const nAll = logProbs.length / C;
  const out = new Float32Array(ids.length * C);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(Number.isInteger(id) && id >= 0 && id < nAll)) throw new RangeError(`gatherRows: example id ${id} at row ${r} is out of range [0, ${nAll})`);
    out.set(logProbs.subarray(id * C, id * C + C), r * C);
  }
  return out;
}

