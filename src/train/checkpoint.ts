/**
 * Training checkpoints: everything needed to continue a run so that it ends with bitwise the
 * same weights as a run that was never interrupted.
 *
 * File format (`.dkc`, little-endian):
 *
 *   offset 0         8 bytes   magic "DKCKPT\r\n" (the CR LF catches text-mode mangling)
 *   offset 8         u32       format version (1)
 *   offset 12        u32       H = byte length of the header
 *   offset 16        H bytes   header, UTF-8 JSON (see {@link CheckpointHeader}); non-finite numbers
 *                              are written as {"$num": "NaN"} since JSON has no NaN
 *   then             0–7 bytes zero padding to a multiple of 8
 *   then             tensors   raw little-endian bytes, back to back; each header.tensors[i] gives
 *                              its name, dtype, dims, offset (from the start of this section) and
 *                              byte length
 *   last 32 bytes    sha256 of every byte before it
 *
 * A torn or corrupted file fails the length, magic or checksum test and is refused with a
 * message naming it; the previous checkpoint (`<name>.prev.dkc`, kept beside the latest) is
 * used instead when it is good. Files are written with {@link writeFileAtomic}; a checkpoint
 * is never written while any state value is non-finite (the trainer checks first).
 *
 * One directory can hold the checkpoints of several trainings (e.g. a teacher and its student,
 * or one per specialist): each training's files are named `<label>-<key>.dkc`, where the key
 * hashes what tells the trainings of one command apart — the model spec, the loss kind, the
 * initial state — and the full {@link RunIdentity} (config, data hash, teacher-target hash …)
 * is compared on resume: any difference is refused, naming the keys.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type TensorData, typedFromBytes } from '../graph/ir.js';
import { removeStaleTemps, writeFileAtomic } from '../util/atomic.js';
import { type ParamProblem, UsageError } from '../util/errors.js';
import type { RngState } from '../util/rng.js';
import { sha256Hex } from '../util/hash.js';

export const CHECKPOINT_MAGIC = Buffer.from('DKCKPT\r\n', 'latin1');
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_EXT = '.dkc';
export const PREV_SUFFIX = '.prev';
const FORMAT = 'dark-knowledge.checkpoint';
const HASH_BYTES = 32;

/** Where a run is: enough to continue it exactly. */
export interface CheckpointProgress {
  /** Index of the current epoch (= epochs completed). */
  epoch: number;
  /** Steps already taken in the current epoch. */
  stepInEpoch: number;
  /** Steps taken since the start of training. */
  globalStep: number;
  /** The shuffle stream's state when the current epoch began (regenerates its batch order). */
  epochStartShuffle: RngState;
  /** Every stream's state now. */
  rngs: { shuffle: RngState; dropout: RngState; jitter: RngState };
  /** The current epoch's running sums (for its mean loss and accuracy) and last learning rate. */
  lossSum: number;
  correct: number;
  lr: number;
  /** Seconds spent in the current epoch so far (for its throughput figure only). */
  epochSeconds: number;
}

/** What identifies a training: a resumed run must match the checkpoint's identity exactly. */
export interface RunIdentity {
  model: unknown;
  config: unknown;
  data: { hash: string; n: number; shape: number[]; classes: number };
  teacher: string | null;
  labeled: boolean;
  sampler: { stepsPerEpoch: number; rowsPerEpoch: number; custom: boolean };
  /** sha256 of the initial state (weights before the first step). */
  init: string;
  /** State names and shapes, in binding order. */
  state: string[];
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  dims: number[];
  offset: number;
  byteLength: number;
}

export interface CheckpointHeader {
  format: typeof FORMAT;
  name: string;
  createdAt: string;
  identity: RunIdentity;
  /** The caller's description of the run (the CLI stores its effective flags here). */
  run?: unknown;
  /** The run's checkpoint interval in steps (0: epoch ends only); a resumed run keeps it unless told otherwise. */
  every?: number;
  progress: CheckpointProgress;
  /** Epoch events so far (the trainer's EpochEvent objects). */
  history: unknown[];
  tensors: TensorEntry[];
}

export interface Checkpoint {
  path: string;
  header: CheckpointHeader;
  state: Map<string, TensorData>;
}

/** A checkpoint file that cannot be used (torn, corrupt, foreign): exit code 2, names the file. */
export class CheckpointError extends UsageError {
  constructor(message: string | ParamProblem) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, bool: 1, uint8: 1 };

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$num' && typeof o.$num === 'string') return Number(o.$num);
  }
  return v;
}

export { sha256Hex };

function bytesOf(t: TensorData): Uint8Array {
  const d = t.data as ArrayBufferView;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** sha256 over a state map's names, shapes and bytes (in iteration order). */
export function stateHash(state: ReadonlyMap<string, TensorData>): string {
  const h = createHash('sha256');
  for (const [k, v] of state) {
    h.update(`${k}:${v.dtype}[${v.dims.join(',')}]\n`);
    h.update(bytesOf(v));
  }
  return h.digest('hex');
}

/** Serialise a checkpoint (see the top of this file for the layout). */
export function encodeCheckpoint(header: Omit<CheckpointHeader, 'tensors' | 'format'>, state: ReadonlyMap<string, TensorData>): Uint8Array {
  const tensors: TensorEntry[] = [];
  let off = 0;
  for (const [name, t] of state) {
    const byteLength = t.data.length * BYTES[t.dtype];
    tensors.push({ name, dtype: t.dtype, dims: [...t.dims], offset: off, byteLength });
    off += byteLength;
    off += (8 - (off % 8)) % 8;
  }
  const full: CheckpointHeader = { format: FORMAT, ...header, tensors };
  const json = Buffer.from(JSON.stringify(full, replacer), 'utf8');
  const dataStart = 16 + json.length + ((8 - ((16 + json.length) % 8)) % 8);
  const total = dataStart + off + HASH_BYTES;
  const out = Buffer.alloc(total);
  CHECKPOINT_MAGIC.copy(out, 0);
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, 16);
  let i = 0;
  for (const [, t] of state) out.set(bytesOf(t), dataStart + tensors[i++].offset);
  createHash('sha256').update(out.subarray(0, total - HASH_BYTES)).digest().copy(out, total - HASH_BYTES);
  return out;
}

/** Parse and verify a checkpoint's bytes; CheckpointError (naming `source`) when it cannot be used. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Omit<Checkpoint, 'path'> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new CheckpointError(`checkpoint ${source}: ${why}`);
  if (buf.length < 16 + HASH_BYTES) throw bad(`truncated (${buf.length} bytes; a checkpoint has at least ${16 + HASH_BYTES})`);
  if (!buf.subarray(0, 8).equals(CHECKPOINT_MAGIC)) throw bad('not a dark-knowledge checkpoint (wrong magic bytes)');
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) throw bad(`format version ${version}, this build reads version ${CHECKPOINT_VERSION}`);
  const want = buf.subarray(buf.length - HASH_BYTES);
  const got = createHash('sha256').update(buf.subarray(0, buf.length - HASH_BYTES)).digest();
  if (!got.equals(want)) throw bad('checksum mismatch (the file is torn or corrupted)');
  const H = buf.readUInt32LE(12);
  if (16 + H > buf.length - HASH_BYTES) throw bad(`header length ${H} runs past the end of the file`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.subarray(16, 16 + H).toString('utf8'), reviver) as CheckpointHeader;
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header?.format !== FORMAT || !Array.isArray(header.tensors) || !header.progress || !header.identity) throw bad('header lacks the checkpoint fields');
  const dataStart = 16 + H + ((8 - ((16 + H) % 8)) % 8);
  const end = buf.length - HASH_BYTES;
  const state = new Map<string, TensorData>();
  for (const t of header.tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (!(t.dtype in BYTES) || n * BYTES[t.dtype] !== t.byteLength || dataStart + t.offset + t.byteLength > end) throw bad(`tensor '${t.name}' does not fit its declared shape or the file`);
    state.set(t.name, { dtype: t.dtype, dims: [...t.dims], data: typedFromBytes(t.dtype, buf.subarray(dataStart + t.offset, dataStart + t.offset + t.byteLength)) });
  }
  return { header, state };
}

export function readCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { path, ...decodeCheckpoint(bytes, path) };
}

/** Checkpoint files (latest and previous) in `dir`, by name; [] when the directory is absent. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(CHECKPOINT_EXT) && !n.startsWith('.'))
    .sort();
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      flatten(x, prefix ? `${prefix}.${k}` : k, out);
    }
  } else out.set(prefix, JSON.stringify(v, replacer));
}

function short(s: string | undefined): string {
  if (s === undefined) return '(absent)';
  if (/^"[0-9a-f]{64}"$/.test(s)) return s.slice(1, 13) + '…';
  return s.length > 40 ? s.slice(0, 37) + '…' : s;
}

/** Keys (dotted paths) whose values differ between two JSON-like values, as `key (a → b)`. */
export function diffKeys(saved: unknown, now: unknown): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(saved, '', a);
  flatten(now, '', b);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => `${k} (${short(a.get(k))} → ${short(b.get(k))})`);
}

/** Sidecar paths of one training's checkpoints in `dir`. */
export function checkpointPaths(dir: string, name: string): { latest: string; prev: string } {
  return { latest: join(dir, name + CHECKPOINT_EXT), prev: join(dir, name + PREV_SUFFIX + CHECKPOINT_EXT) };
}

/**
 * Write a checkpoint atomically, keeping the one it replaces as `<name>.prev.dkc`. At every
 * instant the latest file is either the old or the new checkpoint (rename is atomic), and the
 * previous file either the one before or the old one.
 */
export function saveCheckpoint(dir: string, name: string, header: Omit<CheckpointHeader, 'tensors' | 'format' | 'name' | 'createdAt'>, state: ReadonlyMap<string, TensorData>): string {
  mkdirSync(dir, { recursive: true });
  const { latest, prev } = checkpointPaths(dir, name);
  const bytes = encodeCheckpoint({ name, createdAt: new Date().toISOString(), ...header }, state);
  if (existsSync(latest)) {
    const tmp = join(dir, `.${name}${PREV_SUFFIX}${CHECKPOINT_EXT}.${process.pid}.link.tmp`);
    try {
      if (existsSync(tmp)) unlinkSync(tmp);
      linkSync(latest, tmp);
      renameSync(tmp, prev);
    } catch {
      // No hard links here: copy instead (still atomic).
      try {
        if (existsSync(tmp)) unlinkSync(tmp);
      } catch {
        /* best effort */
      }
      writeFileAtomic(prev, readFileSync(latest));
    }
  }
  writeFileAtomic(latest, bytes);
  return latest;
}

/**
 * Find the checkpoint to resume `name` from: the latest if it is good, else the previous one
 * (with a message through `log`). Returns null when neither file exists. A checkpoint whose
 * identity differs from `identity` is refused, naming the keys that differ.
 */
export function loadForResume(dir: string, name: string, identity: RunIdentity, log: (text: string) => void): Checkpoint | null {
  if (!existsSync(dir)) throw new UsageError({ param: 'checkpoint.dir', value: dir, detail: 'directory does not exist' });
  if (!statSync(dir).isDirectory()) throw new UsageError({ param: 'checkpoint.dir', value: dir, detail: 'is a file, expected a checkpoint directory' });
  for (const t of removeStaleTemps(dir)) log(`removed ${t} (left by a writer that was killed)`);
  const { latest, prev } = checkpointPaths(dir, name);
  const problems: string[] = [];
  for (const p of [latest, prev]) {
    if (!existsSync(p)) continue;
    let ck: Checkpoint;
    try {
      ck = readCheckpoint(p);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problems.push(e.message);
      continue;
    }
    const diff = diffKeys(ck.header.identity, identity);
    if (diff.length) throw new UsageError({ param: 'checkpoint.dir', value: dir, detail: `the run differs from the checkpointed one in ${diff.join(', ')}; start a new run (in another checkpoint directory) or use the original settings` });
    if (problems.length) {
      // Keep the damaged file for inspection, out of the way of the next save.
      if (p === prev && existsSync(latest)) renameSync(latest, latest + '.corrupt');
      log(`${problems.join('; ')}; resuming from the previous checkpoint ${p}${p === prev ? ` (the damaged one is kept as ${latest}.corrupt)` : ''}`);
    }
    return ck;
  }
  if (problems.length) throw new CheckpointError({ param: 'checkpoint.dir', value: dir, detail: `no usable checkpoint: ${problems.join('; ')}` });
  return null;
}

/** The name of a training's checkpoint files: `<label>-<first 12 hex digits of key>`. */
export function checkpointName(label: string, key: unknown): string {
  return `${label}-${sha256Hex(JSON.stringify(key)).slice(0, 12)}`;
}
