/**
 * `npm run bench:gemm [-- --batch 128] [--threads 1,2] [--passes 7] [--calls 40] [--json FILE]
 *   [--python /usr/bin/python3]`
 *
 * The matrix products of one student training step (784-800-800-10, batch B), each timed alone:
 * ours as a one-node ONNX Gemm under onnxruntime (MLAS), the peer as torch.mm (OpenBLAS) in
 * bench/peers/gemm_peer.py, with the same shapes and transposes as the step graph. Rounds
 * alternate (ours, peer, peer, ours, …) and each side reports the median per-call time of its
 * passes. It isolates what the training step cannot change: the BLAS kernels' speed on these
 * shapes — the weight gradients (inner dimension = the batch) above all. Skips with a message
 * where torch cannot be imported. A benchmark, never part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { GraphBuilder } from '../src/graph/builder.js';
import { tensor } from '../src/graph/ir.js';
import { Runner } from '../src/runtime/session.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { Rng } from '../src/util/rng.js';
import { median } from './engine-lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function ints(name: string, dflt: string): number[] {
  const v = (arg(name) ?? dflt).split(',').map(Number);
  if (!v.every((n) => Number.isInteger(n) && n >= 1)) {
    process.stderr.write(`bench:gemm: --${name} must be positive integers (comma-separated), got '${arg(name)}'\n`);
    process.exit(2);
  }
  return v;
}
const [B] = ints('batch', '128');
const threadList = ints('threads', '1,2');
const [passes] = ints('passes', '7');
const [calls] = ints('calls', '40');
const python = arg('python') ?? '/usr/bin/python3';
const jsonOut = arg('json');

/** [name, M, K, N, transA, transB]: C[M×N] = op(A)·op(B), as the step graph computes it. */
type Shape = [string, number, number, number, 0 | 1, 0 | 1];
const SHAPES: Shape[] = [
  ['fwd   x·W1', B, 784, 800, 0, 0],
  ['fwd   h1·W2', B, 800, 800, 0, 0],
  ['dX    dz2·W2ᵀ', B, 800, 800, 0, 1],
  ['dW    h1ᵀ·dz2', 800, B, 800, 1, 0],
  ['dW    xᵀ·dz1', 784, B, 800, 1, 0],
];

const peerEnv = { ...process.env };
delete peerEnv.OPENBLAS_CORETYPE;
delete peerEnv.OPENBLAS_L2_SIZE;
const probe = spawnSync(python, ['-c', 'import torch'], { env: peerEnv, encoding: 'utf8' });
if (probe.status !== 0) {
  process.stdout.write(`bench:gemm: skipped — ${python} cannot import torch (bench/peers/setup-torch.sh installs it)\n`);
  process.exit(0);
}
const peerScript = new URL('../../bench/peers/gemm_peer.py', import.meta.url).pathname;

async function oursPass(threads: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const rng = new Rng(7);
  for (const [name, M, K, N, ta, tb] of SHAPES) {
    const g = new GraphBuilder('gemm');
    const aDims = ta ? [K, M] : [M, K];
    const bDims = tb ? [N, K] : [K, N];
    const a = g.input('a', 'float32', aDims);
    const b = g.input('b', 'float32', bDims);
    g.output(g.op('Gemm', [a, b], { transA: ta, transB: tb }), 'c');
    const runner = await Runner.create(g.build(), { threads });
    const fill = (n: number) => Float32Array.from({ length: n }, () => rng.float() - 0.5);
    const feeds = { a: tensor('float32', aDims, fill(M * K)), b: tensor('float32', bDims, fill(K * N)) };
    const outs = { c: tensor('float32', [M, N], new Float32Array(M * N)) };
    for (let i = 0; i < 5; i++) await runner.runInto(feeds, outs);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await runner.runInto(feeds, outs);
    out[name] = (performance.now() - t0) / 1000 / calls;
    await runner.release();
  }
  return out;
}

function peerPass(threads: number): { blas: string; rows: Record<string, number> } {
  const req = JSON.stringify({ threads, calls, passes: 1, shapes: SHAPES });
  const r = spawnSync(python, [peerScript], { env: peerEnv, input: req, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gemm_peer.py failed: ${r.stderr.trim().split('\n').pop()}`);
  const res = JSON.parse(r.stdout) as { blas: string; rows: Record<string, number[]> };
  return { blas: res.blas, rows: Object.fromEntries(Object.entries(res.rows).map(([k, v]) => [k, v[0]])) };
}

const load0 = loadavg();
process.stdout.write(`bench:gemm: batch ${B}, ${passes} alternated passes of ${calls} calls; ${cpus()[0]?.model}; load average ${load0.map((x) => x.toFixed(2)).join(' ')}\n`);
const results: { threads: number; blas: string; rows: { name: string; M: number; K: number; N: number; oursMs: number; peerMs: number; oursGflops: number; peerGflops: number; ratio: number }[] }[] = [];
for (const threads of threadList) {
  const ours: Record<string, number[]> = {};
  const peer: Record<string, number[]> = {};
  let blas = '?';
  for (let p = 0; p < passes; p++) {
    const order = p % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const side of order) {
      if (side === 'ours') for (const [k, v] of Object.entries(await oursPass(threads))) (ours[k] ??= []).push(v);
      else {
        const r = peerPass(threads);
        blas = r.blas;
        for (const [k, v] of Object.entries(r.rows)) (peer[k] ??= []).push(v);
      }
    }
  }
  process.stdout.write(`\n${threads} thread(s); peer BLAS: ${blas}\n`);
  process.stdout.write(`${'product'.padEnd(16)} ${'M×K×N'.padEnd(14)} ${'ours ms'.padStart(8)} ${'peer ms'.padStart(8)} ${'GFLOP/s ours'.padStart(12)} ${'peer'.padStart(6)} ${'ours/peer speed'.padStart(15)}\n`);
  const rows = SHAPES.map(([name, M, K, N]) => {
    const o = median(ours[name]);
    const q = median(peer[name]);
    const fl = 2 * M * K * N;
    const row = { name: name.replace(/\s+/g, ' '), M, K, N, oursMs: o * 1000, peerMs: q * 1000, oursGflops: fl / o / 1e9, peerGflops: fl / q / 1e9, ratio: q / o };
    process.stdout.write(`${name.padEnd(16)} ${`${M}×${K}×${N}`.padEnd(14)} ${row.oursMs.toFixed(3).padStart(8)} ${row.peerMs.toFixed(3).padStart(8)} ${row.oursGflops.toFixed(1).padStart(12)} ${row.peerGflops.toFixed(1).padStart(6)} ${`${row.ratio.toFixed(2)}×`.padStart(15)}\n`);
    return row;
  });
  const sum = (k: 'oursMs' | 'peerMs') => rows.reduce((s, r) => s + r[k], 0);
  process.stdout.write(`${'all five'.padEnd(16)} ${''.padEnd(14)} ${sum('oursMs').toFixed(3).padStart(8)} ${sum('peerMs').toFixed(3).padStart(8)} ${''.padStart(12)} ${''.padStart(6)} ${`${(sum('peerMs') / sum('oursMs')).toFixed(2)}×`.padStart(15)}\n`);
  results.push({ threads, blas, rows });
}
const load1 = loadavg();
process.stdout.write(`\nload average at the end ${load1.map((x) => x.toFixed(2)).join(' ')} (2 cores: above ~0.5 other processes add noise)\n`);
if (jsonOut) {
  writeFileAtomic(jsonOut, JSON.stringify({ batch: B, passes, calls, cpu: cpus()[0]?.model, loadavgStart: load0, loadavgEnd: load1, results }, null, 2) + '\n');
  process.stdout.write(`wrote ${jsonOut}\n`);
}
