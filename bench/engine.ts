/**
 * `npm run bench [-- --json FILE] [--passes 7] [--steps 40] [--threads 2] [--only name[:batch],…] [--group all|mlp|conv]`
 * Times the engine's rows (median of passes after warm-up) and prints a table; with --json
 * writes rows {name, batch, samplesPerSec, gflops, msPerStep, passes}.
 */
import { writeFileAtomic } from '../src/util/atomic.js';
import { type RowResult, type RowSpec, prepareRow, resultOf, selectRows, timePass } from './engine-lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function intArg(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench: --${name} must be a positive integer, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}

const passes = intArg('passes', 7);
const steps = intArg('steps', 40);
const warmup = intArg('warmup', 16);
const threads = intArg('threads', 2);
const only = arg('only')?.split(',');
let rows: RowSpec[];
try {
  rows = selectRows(only, arg('group') ?? 'all');
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(2);
}
if (rows.length === 0) {
  process.stderr.write('bench: --only and --group select no row\n');
  process.exit(2);
}

const results: RowResult[] = [];
for (const spec of rows) {
  const row = await prepareRow(spec, { threads });
  for (let i = 0; i < warmup; i++) await row.step(i);
  const secs: number[] = [];
  for (let p = 0; p < passes; p++) secs.push(await timePass(row, steps, warmup + p * steps));
  const r = resultOf(row, steps, secs);
  results.push(r);
  await row.release();
  process.stdout.write(`${r.name.padEnd(21)} batch ${String(r.batch).padStart(5)}  ${r.samplesPerSec.toFixed(0).padStart(8)} samples/s  ${r.gflops.toFixed(1).padStart(6)} GFLOP/s  ${r.msPerStep.toFixed(2).padStart(7)} ms/step\n`);
}
const fwd = results.find((r) => r.name === 'student-forward');
const kd = results.find((r) => r.name === 'student-kd-step' && r.batch === 128);
if (fwd && kd) process.stdout.write(`training-step efficiency: KD step ${kd.gflops.toFixed(1)} GFLOP/s = ${((100 * kd.gflops) / fwd.gflops).toFixed(0)}% of forward-only\n`);
const out = arg('json');
if (out) {
  writeFileAtomic(out, JSON.stringify({ threads, passes, steps, rows: results }, null, 2) + '\n');
  process.stdout.write(`wrote ${out}\n`);
}
