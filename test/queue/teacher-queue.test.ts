/**
 * Teacher outputs as jobs on a real Redis (started here, on a free port, no persistence) with
 * `dk worker` processes: byte-identical to a local run, a SIGKILLed worker's job retried by
 * another, a malformed payload failed once (not retried), Redis lost → one-line error, exit 2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { teacherTargets } from '../../src/distill/cache.js';
import type { Dataset } from '../../src/data/dataset.js';
import { JOB_QUEUE, QUEUE_PREFIX } from '../../src/queue/redis.js';
import { nativeSessions } from '../../src/runtime/session.js';
import { RT, mnistSample, trainLinearTeacher } from '../distill/helpers.js';
import { MAIN, children, kill, killAll, requireRedis, startRedis, startWorker, started, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dk-queue-test-'));
let redis: ChildProcess;
let url: string;
let train: Dataset;
let spec: { teachers: { name: string; bytes: Uint8Array }[] };
let localBytes: Buffer;

process.env.DK_QUEUE_SHARD_ROWS = '1000';

const worker = (env: NodeJS.ProcessEnv = {}) => startWorker(url, env);

async function remoteFile(sub: string): Promise<Buffer> {
  const r = await teacherTargets(spec, train, { cacheDir: join(dir, sub), runtime: RT, redis: url });
  assert.equal(r.fromCache, false);
  return readFileSync(r.file!);
}

describe('teacher outputs on a Redis queue', () => {
  before(async () => {
    requireRedis();
    ({ p: redis, url } = await startRedis());
    ({ train } = mnistSample(2500, 300));
    spec = { teachers: [{ name: 'teacher.onnx', bytes: (await trainLinearTeacher(train, 1)).toOnnx() }] };
    const local = await teacherTargets(spec, train, { cacheDir: join(dir, 'local'), runtime: RT });
    localBytes = readFileSync(local.file!);
  });
  after(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two workers: the assembled cache file is byte-identical to a local run', async () => {
    const [a, b] = await Promise.all([worker(), worker()]);
    assert.deepEqual(await remoteFile('two'), localBytes);
    // Both workers took part or one did; each job ran exactly once in total.
    const started = (a.out() + b.out()).match(/started/g) ?? [];
    assert.equal(started.length, 3, 'three shards of 1000 rows for 2500 examples');
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
    assert.match(a.out(), /SIGTERM: finishing the active jobs, then exiting/);
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
    await kill(fresh.p, 'SIGTERM'); // so the next test's worker is the only one
  });

  it('two shards with the same rows (so the same result blob): both are read, the file identical to a local run', async () => {
    const D = 784;
    const x = new Float32Array(2000 * D);
    x.set(train.x.subarray(0, 1000 * D));
    x.set(train.x.subarray(0, 1000 * D), 1000 * D);
    const twice: Dataset = { x, y: Int32Array.from({ length: 2000 }, (_, i) => train.y[i % 1000]), n: 2000, shape: train.shape, classes: train.classes, source: 'twice' };
    const w = await worker();
    const here = await teacherTargets(spec, twice, { cacheDir: join(dir, 'twice-local'), runtime: RT });
    const there = await teacherTargets(spec, twice, { cacheDir: join(dir, 'twice'), runtime: RT, redis: url });
    assert.deepEqual(readFileSync(there.file!), readFileSync(here.file!));
    assert.equal(started(w.out()), 2);
    await kill(w.p, 'SIGTERM');
  });

  it('a malformed payload is recorded as failed at once, not retried', async () => {
    const w = await worker();
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
      await kill(w.p, 'SIGTERM');
    }
  });

  it('a worker without the coordinator\'s native kernels: its results are refused, naming both', { skip: !nativeSessions() && 'this process has no native kernels' }, async () => {
    const w = await worker({ DK_NATIVE: '0' });
    try {
      await assert.rejects(
        teacherTargets(spec, train, { cacheDir: join(dir, 'kernels'), runtime: RT, redis: url }),
        /ran on a worker whose kernels are onnxruntime's own; this coordinator's are native \(oneDNN \d+\.\d+\.\d+ in onnxruntime \d+\.\d+\.\d+\): its results would differ from a local run's in rounding/,
      );
      assert.ok(!existsSync(join(dir, 'kernels')) || readdirSync(join(dir, 'kernels')).every((f) => !f.endsWith('.dkt')), 'no cache file written');
    } finally {
      await kill(w.p, 'SIGTERM');
      const q = new Queue(JOB_QUEUE, { connection: { url }, prefix: QUEUE_PREFIX });
      await q.obliterate({ force: true });
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

  it('after losing Redis, a rerun sends only the shards not yet done; the cache file still identical', async () => {
    ({ p: redis, url } = await startRedis());
    const keep = join(dir, 'resume', 'jobs');
    const kept = () => (existsSync(keep) ? readdirSync(keep).filter((f) => f.endsWith('.dkj')).length : 0);
    const slow = await worker({ DK_WORKER_HOLD_MS: '1000' });
    const result = teacherTargets(spec, train, { cacheDir: join(dir, 'resume'), runtime: RT, redis: url });
    await until(() => kept() > 0, 'a finished shard to be kept');
    await kill(redis);
    const done = kept();
    await assert.rejects(result, (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 2);
      assert.match(e.message, new RegExp(`^lost the connection to Redis at .*; teacher outputs were not computed; ${done} of 3 job\\(s\\) finished and are kept in ${keep}: rerun the same command to continue$`));
      return true;
    });
    assert.ok(done >= 1 && done < 3, `some but not all shards finished (${done})`);
    assert.deepEqual(readdirSync(join(dir, 'resume')), ['jobs'], 'no cache file, only the kept shards');
    await kill(slow.p);

    ({ p: redis, url } = await startRedis());
    const [a, b] = await Promise.all([worker(), worker()]);
    assert.deepEqual(await remoteFile('resume'), localBytes);
    assert.equal(started(a.out()) + started(b.out()), 3 - done, 'the finished shards were not sent again');
    assert.equal(existsSync(keep), false, 'the kept shards are removed once the cache file is written');
  });
});
