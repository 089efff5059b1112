/**
 * `npm run bench:peer [-- --passes 9] [--steps 40] [--warmup 16] [--threads 2] [--only name[:batch],…] [--group all|mlp|conv]
 *   [--json FILE] [--python /usr/bin/python3] [--no-check] [--gap-ms 50] [--rt '{"spinning":false}']`
 *
 * Our engine against PyTorch (bench/peers/torch_bench.py) on the same CPU, in one process tree:
 * the peer runs as a persistent child (`torch_bench.py --serve`, with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE removed from its environment), and for each row the two sides' timed passes
 * alternate (ours, peer, peer, ours, …) so that load from other processes hits both alike.
 * Each side reports the median of its passes. While one side runs the other waits on a pipe.
 *
 * Before any timing both sides compute the KD loss of the student on the same weights and batch
 * (ours: the step graph itself, lr = 0; the peer: `--check` on a file we write) and must agree to
 * 1e-4 relative, at α = 0.9 (the bench's) and α = 0 (hard term alone), else exit 1.
 *
 * Prints per row both rates and ours/peer, our KD step's GFLOP/s as a share of our forward-only
 * GFLOP/s, and both sides' peak RSS (per row: the kernel's VmHWM, reset before the row; the peer's
 * includes the ~250 MB that importing torch costs, shown separately). Exits 0 with a message where
 * the Python interpreter cannot import torch. A benchmark, never part of `npm test`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RuntimeOptions } from '../src/runtime/session.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { type CheckTensor, type KdCheckFile, type PreparedRow, type RowResult, type RowSpec, isConvRow, prepareRow, resultOf, selectRows, timePass } from './engine-lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function intArg(name: string, dflt: number, min = 1): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench:peer: --${name} must be an integer ≥ ${min}, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}

const passes = intArg('passes', 9);
const steps = intArg('steps', 40);
const warmup = intArg('warmup', 16, 0);
const threads = intArg('threads', 2);
/** Pause between passes so the other side's spinning worker threads have gone to sleep. */
const gapMs = intArg('gap-ms', 50, 0);
const python = arg('python') ?? '/usr/bin/python3';
const jsonOut = arg('json');
const doCheck = !process.argv.includes('--no-check');
const only = arg('only')?.split(',');
/** Extra runtime options for our side, as JSON (experiments; default: the library's defaults). */
const rtExtra = JSON.parse(arg('rt') ?? '{}') as RuntimeOptions;
let rows: RowSpec[];
try {
  rows = selectRows(only, arg('group') ?? 'all');
} catch (e) {
  process.stderr.write(`bench:peer: ${(e as Error).message}\n`);
  process.exit(2);
}
if (rows.length === 0) {
  process.stderr.write('bench:peer: --only and --group select no row\n');
  process.exit(2);
}

/** Targets from issue 7: ours/peer samples/s. */
const TARGET: Record<RowSpec['name'], number | null> = {
  'student-kd-step': 1.2,
  'online-kd-step': 1.0,
  'teacher-step': 1.2,
  'teacher-inference': 1.0,
  'student-forward': null,
  // issue 18: PyTorch's speed on the convolutional rows
  'cnn-kd-step': 1.0,
  'resnet-kd-step': 1.0,
  'mobilenet-kd-step': 1.0,
  'cnn-teacher-inference': 1.0,
};
const EFFICIENCY_TARGET = 0.8;
const CHECK_TOL = 1e-4;

const peerEnv = { ...process.env };
delete peerEnv.OPENBLAS_CORETYPE;
delete peerEnv.OPENBLAS_L2_SIZE;
const script = new URL('../../bench/peers/torch_bench.py', import.meta.url).pathname;

// ---- skip where torch is missing ----------------------------------------------------------
const probe = spawnSync(python, ['-c', 'import torch'], { env: peerEnv, encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
  process.stdout.write(`bench:peer: skipped — ${python} cannot import torch (${why}).\n  Install the peer with bench/peers/setup-torch.sh (Debian: python3-torch + libopenblas0-openmp).\n`);
  process.exit(0);
}

// ---- the peer as a persistent child -------------------------------------------------------
class Peer {
  private child: ChildProcess;
  private waiting: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor() {
    this.child = spawn(python, [script, '--serve', '--threads', String(threads)], { env: peerEnv, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.waiting.shift()?.(l));
    this.child.on('exit', (code, sig) => {
      this.exited = `peer exited (${sig ?? code})`;
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: this.exited }));
    });
  }

  async call<T>(req: Record<string, unknown>): Promise<T> {
    if (this.exited) throw new Error(this.exited);
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(JSON.stringify(req) + '\n');
    });
    const rep = JSON.parse(line) as T & { error?: string };
    if (rep.error) throw new Error(`peer: ${rep.error}`);
    return rep;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    await done;
  }
}

interface PeerRow {
  name: string;
  batch: number;
  samplesPerSec: number;
  gflops: number;
  peakRssMB: number;
  msPerStep: number;
  passSamplesPerSec: number[];
  rssScope: string;
  flopsPerSample?: number;
}

// ---- our peak RSS, per row ----------------------------------------------------------------
function statusMB(key: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
/** Reset the kernel's high-water mark (Linux ≥ 4.0); false where not possible. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
/**
 * Write the check file as JSON in chunks (a few MB of floats: no giant string, so the check does
 * not leave a grown heap behind in our RSS). Float32 values print exactly as JS doubles.
 */
function writeCheckFile(path: string, file: KdCheckFile): void {
  const fd = openSync(path, 'w');
  const isTensor = (v: unknown): v is CheckTensor => typeof v === 'object' && v !== null && 'shape' in v && 'data' in v;
  const writeObject = (obj: Record<string, unknown>): void => {
    let first = true;
    writeSync(fd, '{');
    for (const [k, v] of Object.entries(obj)) {
      writeSync(fd, `${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      if (isTensor(v)) {
        writeSync(fd, `{"shape":${JSON.stringify(v.shape)},"data":[`);
        for (let i = 0; i < v.data.length; i += 8192) {
          const part: number[] = [];
          for (let j = i; j < Math.min(i + 8192, v.data.length); j++) part.push(v.data[j]);
          writeSync(fd, (i ? ',' : '') + part.join(','));
        }
        writeSync(fd, ']}');
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) writeObject(v as Record<string, unknown>);
      else writeSync(fd, JSON.stringify(v));
    }
    writeSync(fd, '}');
  };
  try {
    writeObject(file);
  } finally {
    closeSync(fd);
  }
}
const peakMB = () => statusMB('VmHWM') ?? process.resourceUsage().maxRSS / 1024;
const gc = (globalThis as { gc?: () => void }).gc;

// ---- run ----------------------------------------------------------------------------------
const fmt = (n: number, d = 0) => n.toFixed(d);
const log = (s: string) => process.stdout.write(s + '\n');
const peer = new Peer();
const load0 = loadavg();
let exitCode = 0;
const out: Record<string, unknown> = {};
try {
  const peerMeta = await peer.call<Record<string, unknown>>({ cmd: 'meta' });
  const ourBaseMB = statusMB('VmRSS');
  log(`peer: torch ${peerMeta.torchVersion}, BLAS ${peerMeta.blas}, ${peerMeta.threads} threads; ours: onnxruntime-node, ${threads} intra-op threads; ${cpus()[0]?.model ?? '?'}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  if (peerMeta.blas !== 'openblas-openmp') log(`warning: the peer's BLAS is ${peerMeta.blas}, not openblas-openmp — run bench/peers/setup-torch.sh`);

  // correctness first
  const checks: { row: string; alpha: number; ours: number; peer: number; rel: number }[] = [];
  if (doCheck) {
    // The MLP student's loss (always: it checks the peer itself), and each selected
    // convolutional KD row's model, on the same weights and batch as the timed row.
    const checkSpecs = [rows.find((r) => r.name === 'student-kd-step') ?? { name: 'student-kd-step' as const, batch: 128 }, ...rows.filter((r) => isConvRow(r.name) && r.name.endsWith('-kd-step'))];
    const dir = mkdtempSync(join(tmpdir(), 'dk-peer-check-'));
    try {
      for (const kdSpec of checkSpecs) {
        const row = await prepareRow(kdSpec, { ...rtExtra, threads });
        try {
          for (const alpha of [0.9, 0]) {
            const { loss, file } = await row.kdCheck!(alpha);
            const path = join(dir, `check-${kdSpec.name}-${alpha}.json`);
            writeCheckFile(path, file);
            const theirs = await peer.call<{ loss: number }>({ cmd: 'check', file: path, dtype: 'float32' });
            const rel = Math.abs(loss - theirs.loss) / Math.max(Math.abs(theirs.loss), 1e-30);
            checks.push({ row: kdSpec.name, alpha, ours: loss, peer: theirs.loss, rel });
            log(`check: ${kdSpec.name} KD loss (batch ${kdSpec.batch}, α=${alpha}, T=20) ours ${loss.toPrecision(8)}  peer ${theirs.loss.toPrecision(8)}  rel. diff ${rel.toExponential(1)}  ${rel <= CHECK_TOL ? 'ok' : `FAIL (> ${CHECK_TOL})`}`);
          }
        } finally {
          await row.release();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    out.check = { tolerance: CHECK_TOL, results: checks };
    if (checks.some((c) => !(c.rel <= CHECK_TOL))) {
      log('bench:peer: the two sides disagree on the loss; not timing.');
      exitCode = 1;
      throw null;
    }
  }

  interface Pair {
    spec: RowSpec;
    ours: RowResult & { peakRssMB: number; rssScope: string };
    peer: PeerRow;
    ratio: number;
    target: number | null;
  }
  const pairs: Pair[] = [];
  log('');
  log(`${'row'.padEnd(21)} ${'batch'.padStart(5)} ${'ours/s'.padStart(8)} ${'peer/s'.padStart(8)} ${'ours/peer'.padStart(9)} ${'target'.padStart(6)}  ${'GFLOP/s ours'.padStart(12)} ${'peer'.padStart(6)}  ${'peak RSS MB ours'.padStart(16)} ${'peer'.padStart(6)}`);
  for (const spec of rows) {
    gc?.();
    const scoped = resetPeak();
    const row: PreparedRow = await prepareRow(spec, { ...rtExtra, threads });
    for (let i = 0; i < warmup; i++) await row.step(i);
    await peer.call({ cmd: 'prepare', name: spec.name, batch: spec.batch, warmup });
    const secs: number[] = [];
    let offset = warmup;
    const pause = () => new Promise((r) => setTimeout(r, gapMs));
    const ourPass = async () => {
      await pause();
      secs.push(await timePass(row, steps, offset));
      offset += steps;
    };
    const peerPass = async () => {
      await pause();
      await peer.call({ cmd: 'pass', steps });
    };
    for (let p = 0; p < passes; p++) {
      if (p % 2 === 0) {
        await ourPass();
        await peerPass();
      } else {
        await peerPass();
        await ourPass();
      }
    }
    const theirs = await peer.call<PeerRow>({ cmd: 'finish' });
    // Both sides count FLOPs themselves (ours from the module tree, the peer with forward hooks).
    const ourFlops = row.flopsPerStep / spec.batch;
    if (theirs.flopsPerSample !== undefined && Math.abs(theirs.flopsPerSample - ourFlops) > 1e-9 * ourFlops) {
      log(`warning: ${spec.name}: FLOPs per sample differ: ours ${ourFlops}, peer ${theirs.flopsPerSample}`);
    }
    const ours = { ...resultOf(row, steps, secs), peakRssMB: peakMB(), rssScope: scoped ? 'row' : 'process' };
    await row.release();
    const target = TARGET[spec.name];
    const ratio = ours.samplesPerSec / theirs.samplesPerSec;
    pairs.push({ spec, ours, peer: theirs, ratio, target });
    const mark = target === null ? '' : ratio >= target ? ' ok' : ' MISS';
    log(
      `${spec.name.padEnd(21)} ${String(spec.batch).padStart(5)} ${fmt(ours.samplesPerSec).padStart(8)} ${fmt(theirs.samplesPerSec).padStart(8)} ${(fmt(ratio, 2) + '×').padStart(9)} ${(target === null ? '—' : `≥${target}`).padStart(6)}${mark.padEnd(5)} ${fmt(ours.gflops, 1).padStart(7)} ${fmt(theirs.gflops, 1).padStart(6)}  ${fmt(ours.peakRssMB).padStart(16)} ${fmt(theirs.peakRssMB).padStart(6)}`,
    );
  }

  const fwd = pairs.find((p) => p.spec.name === 'student-forward');
  const efficiency = pairs
    .filter((p) => p.spec.name === 'student-kd-step')
    .map((p) => ({ batch: p.spec.batch, stepGflops: p.ours.gflops, forwardGflops: fwd?.ours.gflops ?? NaN, share: fwd ? p.ours.gflops / fwd.ours.gflops : NaN }));
  log('');
  for (const e of efficiency) {
    if (!fwd) break;
    log(`our KD step (batch ${e.batch}) ${fmt(e.stepGflops, 1)} GFLOP/s = ${fmt(100 * e.share)}% of our forward-only ${fmt(e.forwardGflops, 1)} GFLOP/s (batch 128; target ≥ ${100 * EFFICIENCY_TARGET}%)${e.share >= EFFICIENCY_TARGET ? ' ok' : ' MISS'}`);
  }
  const ourPeak = Math.max(...pairs.map((p) => p.ours.peakRssMB));
  const peerPeak = Math.max(...pairs.map((p) => p.peer.peakRssMB));
  log(`peak RSS (max over rows): ours ${fmt(ourPeak)} MB (node + onnxruntime, ${fmt(ourBaseMB ?? NaN)} MB before any row), peer ${fmt(peerPeak)} MB (python + torch, ${fmt(Number(peerMeta.rssAfterImportMB))} MB after importing torch)${ourPeak <= peerPeak ? ' ok' : ' MISS'}`);
  const load1 = loadavg();
  log(`load average at the end ${load1.map((l) => l.toFixed(2)).join(' ')} (2 cores: above ~0.5 the numbers carry other processes' noise; compare ratios, not absolutes)`);

  Object.assign(out, {
    meta: { threads, passes, steps, warmup, node: process.version, cpu: cpus()[0]?.model, loadavgStart: load0, loadavgEnd: load1, ourRssBeforeRowsMB: ourBaseMB, flops: 'dense layer forward = 2*B*in*out; conv forward = 2*B*Cout*Hout*Wout*(Cin/group)*k^2; training step = 3x forward; inference = 1x' },
    peerMeta,
    rows: pairs.map((p) => ({ name: p.spec.name, batch: p.spec.batch, ratio: p.ratio, target: p.target, met: p.target === null ? null : p.ratio >= p.target, ours: p.ours, peer: p.peer })),
    efficiency: { target: EFFICIENCY_TARGET, rows: efficiency },
    rss: { oursPeakMB: ourPeak, peerPeakMB: peerPeak, oursBeforeRowsMB: ourBaseMB, peerAfterImportMB: peerMeta.rssAfterImportMB, met: ourPeak <= peerPeak },
  });
  if (jsonOut) {
    writeFileAtomic(jsonOut, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${jsonOut}`);
  }
} catch (e) {
  if (e !== null) {
    process.stderr.write(`bench:peer: ${(e as Error).stack ?? e}\n`);
    exitCode = 1;
  }
} finally {
  await peer.close();
}
process.exitCode = exitCode;
