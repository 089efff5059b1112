/**
 * A/B timing of engine variants on one bench row, for performance work on a shared machine:
 * `node dist/bench/ab.js --row student-kd-step:128 --v base='{}' --v nospin='{"rt":{"spinning":false}}' [--passes 9] [--steps 32] [--warmup 16]`
 * Each variant is {"rt": RuntimeOptions, "step": RowOptions} (e.g. {"step":{"stepsPerRun":1}}). Passes alternate between the
 * variants (order reversed every other round), so load from other processes hits all alike.
 * Reports each variant's median ms/step and, against the first, the median of the per-round
 * ratios (pairs measured next to each other in time), with their spread, and the process CPU
 * time per step (user + system; with --threads 1 and no spinning a load-robust measure of work).
 */
import type { RuntimeOptions } from '../src/runtime/session.js';
import { ROWS, type RowOptions, median, prepareRow, timePass } from './engine-lib.js';

const args = process.argv.slice(2);
const val = (k: string, d?: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const rowName = val('row', 'student-kd-step:128')!;
const spec = ROWS.find((r) => rowName === r.name || rowName === `${r.name}:${r.batch}`);
if (!spec) throw new RangeError(`unknown row '${rowName}'`);
const passes = Number(val('passes', '9'));
const steps = Number(val('steps', '32'));
const warmup = Number(val('warmup', '16'));
const threads = Number(val('threads', '2'));
const variants: { name: string; rt: RuntimeOptions; step: RowOptions }[] = [];
args.forEach((a, i) => {
  if (a !== '--v') return;
  const s = args[i + 1];
  const eq = s.indexOf('=');
  const v = JSON.parse(s.slice(eq + 1)) as { rt?: RuntimeOptions; step?: RowOptions };
  variants.push({ name: s.slice(0, eq), rt: { threads, ...v.rt }, step: v.step ?? {} });
});
if (variants.length < 1) throw new RangeError('give at least one --v name=JSON');
const rows = [];
for (const v of variants) {
  const row = await prepareRow(spec, v.rt, 1234, v.step);
  for (let i = 0; i < warmup; i++) await row.step(i);
  rows.push({ v, row, ms: [] as number[], cpu: [] as number[], off: warmup });
}
for (let p = 0; p < passes; p++) {
  for (const r of p % 2 ? [...rows].reverse() : rows) {
    const c0 = process.cpuUsage();
    r.ms.push((1000 * (await timePass(r.row, steps, r.off))) / steps);
    const c = process.cpuUsage(c0);
    r.cpu.push((c.user + c.system) / 1000 / steps);
    r.off += steps;
  }
}
const base = rows[0];
for (const r of rows) {
  const ratios = r.ms.map((m, i) => base.ms[i] / m);
  const s = [...ratios].sort((a, b) => a - b);
  process.stdout.write(
    `${r.v.name.padEnd(16)} ${median(r.ms).toFixed(2).padStart(7)} ms/step  ${((spec.batch * 1000) / median(r.ms)).toFixed(0).padStart(6)} samples/s  speed vs ${base.v.name}: ${median(ratios).toFixed(3)} (per-round ratios ${s[0].toFixed(2)}…${s[s.length - 1].toFixed(2)})  cpu ${median(r.cpu).toFixed(2)} ms/step (${(median(base.cpu) / median(r.cpu)).toFixed(3)})\n`,
  );
  await r.row.release();
}
