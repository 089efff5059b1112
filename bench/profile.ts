/**
 * `node dist/bench/profile.js [--only name[:batch]] [--steps 64] [--warmup 16] [--threads 2] [--top 25] [--keep]
 *   [--v '{"rt": RuntimeOptions, "step": RowOptions}']`
 * Runs one bench row with ORT's profiler on and prints kernel time summed by op type and by
 * node (median-free: total over the profiled steps, divided by the step count). The profile
 * JSON is written under the OS temp dir and removed unless --keep.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeOptions } from '../src/runtime/session.js';
import { ROWS, type RowOptions, prepareRow } from './engine-lib.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const steps = Number(arg('steps') ?? 64);
const warmup = Number(arg('warmup') ?? 16);
const threads = Number(arg('threads') ?? 2);
const top = Number(arg('top') ?? 25);
const only = arg('only') ?? 'student-kd-step:128';
const spec = ROWS.find((r) => only === r.name || only === `${r.name}:${r.batch}`);
if (!spec) {
  process.stderr.write(`profile: unknown row '${only}'; valid: ${ROWS.map((r) => `${r.name}:${r.batch}`).join(', ')}\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'dk-profile-'));
const variant = JSON.parse(arg('v') ?? '{}') as { rt?: RuntimeOptions; step?: RowOptions };
// One session is profiled: a replicated row (src/train/replicas.ts) would run its shards in
// sessions without a profiler, so the row runs as one replica unless --v asks otherwise.
const row = await prepareRow(spec, { threads, ...variant.rt, profilePrefix: join(dir, 'p') }, 1234, { replicas: 1, ...variant.step });
const K = row.stepsPerRun; // steps per graph run: node names carry an 's<j>/' prefix per step
if (steps % K !== 0 || warmup % K !== 0) {
  process.stderr.write(`profile: --steps and --warmup must be multiples of the ${K} steps per run\n`);
  process.exit(2);
}
for (let i = 0; i < warmup; i++) await row.step(i);
const t0 = performance.now();
for (let i = 0; i < steps; i++) await row.step(warmup + i);
const wall = (performance.now() - t0) / steps;
await row.release();
const file = readdirSync(dir).find((f) => f.endsWith('.json'));
if (!file) throw new Error('no profile written');
interface Ev { cat: string; name: string; dur: number; args?: { op_name?: string } }
const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Ev[];
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const last = runs.slice(-steps / K);
const runUs = last.reduce((s, e) => s + e.dur, 0) / last.length;
// kernel events: only those within the last `steps` runs
const firstTs = (last[0] as unknown as { ts: number }).ts;
const kern = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && (e as unknown as { ts: number }).ts >= firstTs);
const byNode = new Map<string, { op: string; us: number }>();
const byOp = new Map<string, number>();
let total = 0;
for (const e of kern) {
  const node = e.name.slice(0, -'_kernel_time'.length).replace(/^s\d+\//, '');
  const op = e.args?.op_name ?? '?';
  const r = byNode.get(node) ?? { op, us: 0 };
  r.us += e.dur;
  byNode.set(node, r);
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  total += e.dur;
}
const per = (us: number) => (us / (last.length * K) / 1000).toFixed(3);
const pct = (us: number) => ((100 * us) / total).toFixed(1);
process.stdout.write(`${spec.name}:${spec.batch}  wall ${wall.toFixed(2)} ms/step  model_run ${(runUs / K / 1000).toFixed(2)} ms/step  kernels ${per(total)} ms  (${last.length * K} steps, ${K} per run)\n`);
process.stdout.write('by op type (ms/step, %):\n');
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${op.padEnd(22)} ${per(us).padStart(8)}  ${pct(us).padStart(5)}%\n`);
process.stdout.write(`top ${top} nodes:\n`);
for (const [n, r] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top)) process.stdout.write(`  ${n.padEnd(40)} ${r.op.padEnd(14)} ${per(r.us).padStart(8)}  ${pct(r.us).padStart(5)}%\n`);
if (process.argv.includes('--keep')) process.stdout.write(`profile: ${join(dir, file)}\n`);
else rmSync(dir, { recursive: true, force: true });
