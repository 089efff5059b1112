/**
 * The queue's own costs, apart from any job's work, against a redis-server started here (free
 * port, no persistence) or `--redis URL`:
 *   - blobs: putBlob + getBlob (base64 through Redis, sha256 on both sides) at a teacher shard's
 *     size (5000 MNIST rows, 15.7 MB) and the MNIST training set's (60000 rows, 188 MB), MB/s;
 *   - jobs: N no-op jobs through runJobs (the coordinator's loop: add, poll every 100 ms, fetch and
 *     check each result) and a worker on the same queue whose processor only stores a 4-byte
 *     result, seconds per job end to end; then 10 runs of one job each (a run's latency).
 * Prints one line per measurement and, with --json F, writes them (temp file, then rename).
 *   node dist/bench/queue.js [--jobs 20] [--redis URL] [--json F]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { Queue, Worker } from 'bullmq';
import { runJobs } from '../src/queue/coordinator.js';
import { JOB_QUEUE, type JobOutput, QUEUE_PREFIX, connectionFor, getBlob, putBlob } from '../src/queue/redis.js';
import { Rng } from '../src/util/rng.js';

const arg = (k: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('jobs') ?? 20);
if (!Number.isInteger(N) || N < 1) throw new RangeError(`--jobs: expected a positive integer, got ${arg('jobs')}`);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

let redis: ChildProcess | null = null;
let url = arg('redis');
if (!url) {
  const port = await freePort();
  redis = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => redis!.stdout!.on('data', (d: Buffer) => /Ready to accept/.test(d.toString()) && res()));
  url = `redis://127.0.0.1:${port}`;
}
const rows: Record<string, number | string>[] = [];
const say = (r: Record<string, number | string>) => {
  rows.push(r);
  console.log(Object.entries(r).map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(3) : v}`).join(', '));
};
say({ what: 'load average (1 min) at start', value: loadavg()[0] });

const queue = new Queue(JOB_QUEUE, { connection: connectionFor(url, 'coordinator'), prefix: QUEUE_PREFIX });
try {
  const client = await queue.getBackend().client;
  const rng = new Rng(1);
  for (const [label, n] of [['teacher shard, 5000 MNIST rows', 5000 * 784], ['MNIST training set, 60000 rows', 60000 * 784]] as const) {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = rng.float();
    const bytes = new Uint8Array(x.buffer);
    for (let pass = 0; pass < 2; pass++) {
      const t0 = performance.now();
      const sha = await putBlob(client, bytes, label);
      const t1 = performance.now();
      await getBlob(client, sha);
      const t2 = performance.now();
      say({ what: `blob ${label} (pass ${pass + 1})`, MB: bytes.byteLength / 1e6, putSeconds: (t1 - t0) / 1000, getSeconds: (t2 - t1) / 1000, MBperSecondEachWay: (2 * bytes.byteLength) / 1e6 / ((t2 - t0) / 1000) });
      await client.del(`${QUEUE_PREFIX}:blob:${sha}`);
    }
  }
  const worker: Worker = new Worker(
    JOB_QUEUE,
    async (): Promise<JobOutput> => ({ blob: await putBlob(client, new Uint8Array(4), 'result'), meta: {} }),
    { connection: connectionFor(url, 'worker'), prefix: QUEUE_PREFIX },
  );
  await worker.waitUntilReady();
  try {
    const jobs = Array.from({ length: N }, (_, i) => ({ name: 'bench-noop', payload: { i, run: Date.now() }, blobs: [], what: `no-op ${i}` }));
    const t0 = performance.now();
    await runJobs(url, jobs, { label: 'bench', unfinished: 'bench not finished' });
    const s = (performance.now() - t0) / 1000;
    say({ what: `${N} no-op jobs at once, one worker, end to end`, seconds: s, secondsPerJob: s / N });
    const t1 = performance.now();
    for (let i = 0; i < 10; i++) await runJobs(url, [{ name: 'bench-noop', payload: { one: i, run: Date.now() }, blobs: [], what: `no-op ${i}` }], { label: 'bench', unfinished: 'bench not finished' });
    say({ what: '10 runs of one no-op job each (a run\'s latency: connect, add, poll every 100 ms)', secondsPerRun: (performance.now() - t1) / 1000 / 10 });
  } finally {
    await worker.close();
  }
} finally {
  await queue.close();
  redis?.kill();
}
say({ what: 'load average (1 min) at end', value: loadavg()[0] });
const out = arg('json');
if (out) {
  writeFileSync(`${out}.tmp`, JSON.stringify(rows, null, 2) + '\n');
  renameSync(`${out}.tmp`, out);
}
