/**
 * Teacher outputs as jobs on a real Redis (started here, on a free port, no persistence) with
 * `dk worker` processes: byte-identical to a local run, a SIGKILLed worker's job retried by
 * another, a malformed payload failed once (not retried), Redis lost → one-line error, exit 2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { teacherTargets } from '../../src/distill/cache.js';
import type { Dataset } from '../../src/data/dataset.js';
import { JOB_QUEUE, QUEUE_PREFIX } from '../../src/queue/redis.js';
import { RT, mnistSample, trainLinearTeacher } from '../distill/helpers.js';

const REDIS = '/usr/bin/redis-server';
const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dk-queue-test-'));
const children = new Set<ChildProcess>();
let redis: ChildProcess;
let url: string;
let train: Dataset;
let spec: { teachers: { name: string; bytes: Uint8Array }[] };
let localBytes: Buffer;

process.env.DK_QUEUE_SHARD_ROWS = '1000';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Spawn and wait until a line of its output matches. */
function spawnUntil(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ p: ChildProcess; out: () => string }> {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.on('exit', () => children.delete(p));
  let text = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} ${args.join(' ')}: no line matching ${ready} within 15 s; output:\n${text}`)), 15000);
    const on = (d: Buffer) => {
      text += d.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        res({ p, out: () => text });
      }
    };
    p.stdout!.on('data', on);
    p.stderr!.on('data', on);
    p.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${cmd} exited (${code}) before it was ready; output:\n${text}`));
    });
  });
}

const worker = (env: NodeJS.ProcessEnv = {}) => spawnUntil(process.execPath, [MAIN, 'worker', '--redis', url, '--threads', '1'], /waiting for jobs/, { DK_QUEUE_LOCK_MS: '1000', ...env });
const kill = (p: ChildProcess, sig: NodeJS.Signals = 'SIGKILL') => new Promise<void>((res) => (p.exitCode !== null || p.signalCode !== null ? res() : (p.once('exit', () => res()), p.kill(sig))));

async function remoteFile(sub: string): Promise<Buffer> {
  const r = await teacherTargets(spec, train, { cacheDir: join(dir, sub), runtime: RT, redis: url });
  assert.equal(r.fromCache, false);
  return readFileSync(r.file!);
}

describe('teacher outputs on a Redis queue', () => {
  before(async () => {
    if (!existsSync(REDIS)) throw new Error(`these tests need redis-server at ${REDIS} (apt-get install redis-server); it is missing`);
    try {
      createRequire(import.meta.url).resolve('ioredis');
    } catch {
      throw new Error("these tests need the 'ioredis' package (BullMQ's Redis client, an optional peer of bullmq); it is not installed");
    }
    const port = await freePort();
    ({ p: redis } = await spawnUntil(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/));
    url = `redis://127.0.0.1:${port}`;
    ({ train } = mnistSample(2500, 300));
    spec = { teachers: [{ name: 'teacher.onnx', bytes: (await trainLinearTeacher(train, 1)).toOnnx() }] };
    const local = await teacherTargets(spec, train, { cacheDir: join(dir, 'local'), runtime: RT });
    localBytes = readFileSync(local.file!);
  });
  after(async () => {
    await Promise.all([...children].map((c) => kill(c)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('two workers: the assembled cache file is byte-identical to a local run', async () => {
    const [a, b] = await Promise.all([worker(), worker()]);
    assert.deepEqual(await remoteFile('two'), localBytes);
    // Both workers took part or one did; each job ran exactly once in total.
    const started = (a.out() + b.out()).match(/started/g) ?? [];
    assert.equal(started.length, 3, 'three shards of 1000 rows for 2500 examples');
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
    assert.match(a.out(), /SIGTERM: finishing active jobs/);
  });

  it('a worker SIGKILLed mid-job: its job is retried by another worker, the output still identical', async () => {
    const slow = await worker({ DK_WORKER_HOLD_MS: '60000' });
    const result = remoteFile('killed');
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => /started/.test(slow.out()) && (clearInterval(t), res()), 20);
      setTimeout(() => (clearInterval(t), rej(new Error('the slow worker took no job'))), 10000);
    });
    await kill(slow.p);
    const fresh = await worker();
    assert.deepEqual(await result, localBytes);
    const runs = fresh.out().match(/started/g) ?? [];
    assert.equal(runs.length, 3, `the survivor ran all three shards, the killed one's again:\n${fresh.out()}`);
  });

  it('a malformed payload is recorded as failed at once, not retried', async () => {
    const q = new Queue(JOB_QUEUE, { connection: { url }, prefix: QUEUE_PREFIX });
    try {
      const job = await q.add('teacher-shard', { v: 1, teacher: { name: 't', blob: 'not-a-hash' } }, { attempts: 5, jobId: 'malformed-1' });
      let state = '';
      for (let i = 0; i < 100 && state !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = await job.getState();
      }
      assert.equal(state, 'failed');
      await new Promise((r) => setTimeout(r, 1500)); // past a retry's backoff and a stalled check
      const j = (await q.getJob('malformed-1'))!;
      assert.equal(await j.getState(), 'failed');
      assert.equal(j.attemptsMade, 1, 'one attempt of the five allowed');
      assert.match(j.failedReason, /^malformed teacher-shard job: \/(data|teacher)/);
    } finally {
      await q.close();
    }
  });

  it('dk worker refuses a URL that is not redis:// or rediss:// (exit 2, one line)', () => {
    const r = spawnSync(process.execPath, [MAIN, 'worker', '--redis', 'http://user:secret@127.0.0.1:1'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^dk: --redis http:\/\/user:\*\*\*@127\.0\.0\.1:1: expected a redis:\/\/ or rediss:\/\/ URL/);
    assert.ok(!r.stderr.includes('secret'), 'the password is not printed');
  });

  it('Redis stopped mid-run: the coordinator says so in one line (exit code 2)', async () => {
    await Promise.all([...children].filter((c) => c !== redis).map((c) => kill(c)));
    const result = teacherTargets(spec, train, { cacheDir: join(dir, 'lost'), runtime: RT, redis: url });
    await new Promise((r) => setTimeout(r, 500)); // jobs queued, no worker to run them
    await kill(redis);
    await assert.rejects(result, (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /^lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ \(/);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
    assert.equal(existsSync(join(dir, 'lost')), false, 'no partial cache file');
  });
});
