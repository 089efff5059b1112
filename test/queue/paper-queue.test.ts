/**
 * `dk paper --redis` on a real Redis (started here, on a free port, no persistence) with
 * `dk worker` processes: the tiny profile's results.json (times aside) and every model file it
 * writes identical to a local run's at the same seed and --threads — with two workers; with a
 * worker SIGKILLed mid-job; with a worker stopped by Ctrl-C in the middle of a training run (its
 * job back on the queue, not counted as an attempt), for a profile with the online teacher;
 * and after Redis stopped mid-run (one line, exit 2) and a rerun with --resume that trains only
 * the runs not yet done. A malformed paper-fit payload is failed at once, not retried.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CACHE_DIR } from '../../src/paper/cache-dir.js';
import { PROFILES } from '../../src/paper/profiles.js';
import { runPaper } from '../../src/paper/run.js';
import { comparable } from '../paper/helpers.js';
import { MAIN, assertFailedOnce, children, kill, killAll, requireRedis, startRedis, startWorker, until } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'dk-paper-queue-'));
let redis: ChildProcess;
let url: string;
/** The local run's outputs, and its training runs by label (the specialists experiment's aside). */
let local: Outputs;
let fits: string[];
/**
 * Workers with a 3 s lock: long enough that a worker starved of CPU on a busy machine keeps it
 * (a lost lock reruns a job, harmless but it would blur the counts), short enough for the test
 * of a killed worker.
 */
const worker = (env: NodeJS.ProcessEnv = {}) => startWorker(url, { DK_QUEUE_LOCK_MS: '3000', ...env });

const paper = (out: string, ...more: string[]) => [MAIN, 'paper', '--profile', 'tiny', '--threads', '1', '--quiet', '--out', join(root, out), ...more];

function dk(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root, timeout: 120000 });
}

interface Outputs {
  results: unknown;
  /** Every file written, by path; results.json and report.html (which hold times) by name only. */
  files: Map<string, Buffer>;
}

function outputs(dir: string): Outputs {
  const names = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
  const timed = new Set(['results.json', 'report.html']);
  return {
    results: comparable(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>),
    files: new Map(names.map((n) => [n, timed.has(n) ? Buffer.alloc(0) : readFileSync(join(dir, n))])),
  };
}

function assertSame(got: Outputs, want: Outputs): void {
  assert.deepEqual([...got.files.keys()], [...want.files.keys()]);
  for (const [name, bytes] of want.files) assert.ok(bytes.equals(got.files.get(name)!), `${name} differs from the local run's`);
  assert.ok([...want.files.keys()].some((n) => n.endsWith('.onnx')), 'no model file to compare');
  assert.deepEqual(got.results, want.results);
}

/** dk paper --redis in the background: its exit code and its stdout + stderr. */
function coordinator(out: string, ...more: string[]): { done: Promise<{ code: number | null; stderr: string; stdout: string }>; err: () => string } {
  const p = spawn(process.execPath, paper(out, '--redis', url, ...more), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { err: () => stderr, done: new Promise((res) => p.once('exit', (code) => (children.delete(p), res({ code, stdout, stderr })))) };
}

/** The ids of the jobs of a kind that a worker's log says it started. */
const startedOf = (out: string, kind: string) => new Set([...out.matchAll(new RegExp(`job (\\S+) \\(${kind}\\) started \\(attempt`, 'g'))].map((m) => m[1]));
/** The training runs a worker's log says it trained, by label. */
const trainedBy = (out: string) => [...out.matchAll(/^dk worker: job \S+: (.+): \S+, \d+ epoch\(s\) on \d+ examples, /gm)].map((m) => m[1]);
const sorted = (a: Iterable<string>) => [...new Set(a)].sort();

describe('the paper job on a Redis queue', () => {
  before(async () => {
    requireRedis();
    ({ p: redis, url } = await startRedis());
    const l = dk(paper('local'));
    assert.equal(l.status, 0, l.stderr);
    local = outputs(join(root, 'local'));
    // Each training run logs its first epoch; the specialists experiment's are not paper-fit jobs.
    fits = [...l.stderr.matchAll(/^(.+) epoch 1\/\d+: /gm)].map((m) => m[1]).filter((label) => !/^(generalist|specialist-)/.test(label));
    assert.ok(fits.length >= 10 && new Set(fits).size === fits.length, `training runs in the local log: ${fits.join(', ')}`);
  });
  after(async () => {
    await killAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('a URL that is not redis:// or rediss:// is refused before any work (exit 2, one line, no password)', () => {
    const r = dk(paper('bad', '--redis', 'http://user:secret@127.0.0.1:1'));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, "dk: --redis http://user:***@127.0.0.1:1: expected a redis:// or rediss:// URL, got protocol 'http:'\n");
    assert.equal(existsSync(join(root, 'bad')), false);
  });

  it('two workers: results.json and every model file as the local run', async () => {
    const [a, b] = await Promise.all([worker(), worker()]);
    const r = await coordinator('two').done;
    assert.equal(r.code, 0, r.stderr);
    assertSame(outputs(join(root, 'two')), local);
    const logs = a.out() + b.out();
    assert.equal(startedOf(logs, 'paper-fit').size, fits.length, 'one job per training run');
    assert.deepEqual(sorted(trainedBy(logs)), sorted(fits), 'every training run on the workers');
    assert.equal(startedOf(logs, 'specialist').size, 1);
    assert.ok(trainedBy(a.out()).length > 0 && trainedBy(b.out()).length > 0, 'both workers trained');
    assert.equal(existsSync(join(root, 'two', CACHE_DIR)), false, 'the finished job left its cache behind');
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
  });

  it('a worker SIGKILLed mid-job: its job is retried by another worker, the output still identical', async () => {
    const slow = await worker({ DK_WORKER_HOLD_MS: '60000' });
    const c = coordinator('killed');
    await until(() => startedOf(slow.out(), 'paper-fit').size > 0, 'the slow worker to take a job');
    await kill(slow.p);
    const fresh = await worker();
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assertSame(outputs(join(root, 'killed')), local);
    assert.ok(trainedBy(slow.out()).length === 0, 'the killed worker trained nothing');
    assert.deepEqual(sorted(trainedBy(fresh.out())), sorted(fits), `the survivor ran every run, the killed one's again:\n${fresh.out()}`);
    await kill(fresh.p, 'SIGTERM');
  });

  it('a malformed paper-fit payload, a bad training configuration and a missing blob are failed at once, not retried', async () => {
    const w = await worker();
    try {
      const sha = 'a'.repeat(64);
      const data = { shape: [784], classes: 10, rows: 10, source: 's', x: sha, y: sha };
      const good = { v: 1, label: 'hard', spec: 'mlp:8', classes: 10, options: {}, config: { epochs: 1, batch: 8, lr: 0.1, temperature: 1, alpha: 0, jitter: 0, seed: 1, loss: 'hard', mix: 'convex', schedule: { kind: 'cosine' } }, threads: 1, data, test: data, evalSets: [] };
      await assertFailedOnce(url, w.out, [
        ['fit-bad-1', 'paper-fit', { ...good, options: { dropout: 2 } }, /^malformed paper-fit job: \/options\/dropout /],
        ['fit-bad-2', 'paper-fit', { ...good, config: { ...good.config, epochs: 0 } }, /^malformed paper-fit job: \/config epochs must be a positive integer/],
        ['fit-bad-3', 'paper-fit', good, /^training set: examples: blob aaaaaaaaaaaa… is not in Redis/],
      ]);
    } finally {
      await kill(w.p, 'SIGTERM');
    }
  });

  it('the online teacher, and a worker stopped by Ctrl-C mid-run: its job goes back, not as an attempt; the output still identical', async () => {
    // The teacher trains long enough to be interrupted; the student learns from it online.
    const tiny = PROFILES.tiny;
    const P = { ...tiny, teacher: { ...tiny.teacher, epochs: 30 }, student: { ...tiny.student, jitter: 1 } };
    await runPaper({ profile: P, out: join(root, 'online-local'), threads: 1 }, () => {});
    const want = outputs(join(root, 'online-local'));
    assert.ok(want.files.size > 0);

    const first = await worker();
    const run = runPaper({ profile: P, out: join(root, 'online-queue'), threads: 1, redis: url }, () => {});
    await until(() => /teacher epoch 3\/30/.test(first.out()), 'the teacher to be training on the first worker');
    first.p.kill('SIGINT');
    assert.equal(await first.exited, 0, first.out());
    assert.match(first.out(), /SIGINT: returning the active jobs to the queue, then exiting\n(.*\n)*dk worker: job \S+ \(paper-fit\) returned to the queue, not counted as an attempt/);
    assert.ok(!/teacher epoch 30\/30/.test(first.out()), 'the teacher finished before the interruption');
    const [a, b] = await Promise.all([worker(), worker()]);
    await run;
    assertSame(outputs(join(root, 'online-queue')), want);
    const logs = a.out() + b.out();
    assert.ok(trainedBy(logs).includes('teacher'), `the returned teacher run was trained by another worker:\n${logs}`);
    assert.ok(!/started \(attempt [2-9]/.test(logs), `every job on its first attempt, the returned one too:\n${logs}`);
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
  });

  it('Redis stopped mid-run: one line, exit 2; a rerun with --resume trains only the runs not yet done', async () => {
    const cache = join(root, 'resumed', CACHE_DIR);
    const finished = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.json')).length : 0);
    // One worker that holds each job 0.6 s: Redis is stopped once three runs are saved.
    const w = await worker({ DK_WORKER_HOLD_MS: '600' });
    const c = coordinator('resumed');
    await until(() => finished() >= 3, 'three finished runs in the resume cache', 60000);
    await kill(redis);
    const r = await c.done;
    const done = finished();
    assert.ok(done >= 3 && done < fits.length, `some but not all runs finished (${done} of ${fits.length})`);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('dk: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^dk: lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*\); the (paper job's training runs|specialists) were not all (done|trained), nothing written; .*rerun with --resume to continue$/);
    assert.equal(existsSync(join(root, 'resumed', 'results.json')), false, 'no partial results');
    await kill(w.p);

    // Without --resume the interrupted job is refused; with it, a fresh Redis and fresh workers finish it.
    const refused = dk(paper('resumed', '--redis', url));
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /holds an interrupted job \(\.dk-paper-cache\); pass --resume to continue it/);
    ({ p: redis, url } = await startRedis());
    const [a, b] = await Promise.all([worker(), worker()]);
    const again = await coordinator('resumed', '--resume').done;
    assert.equal(again.code, 0, again.stderr);
    const loaded = [...again.stderr.matchAll(/^(.+): loaded from \.dk-paper-cache \(trained by an earlier run of this job\)$/gm)].map((m) => m[1]);
    assert.equal(loaded.length, done, again.stderr);
    const trained = trainedBy(a.out() + b.out());
    assert.deepEqual(sorted(trained).filter((l) => loaded.includes(l)), [], 'a finished run was trained again');
    assert.deepEqual(sorted([...trained, ...loaded]), sorted(fits));
    assertSame(outputs(join(root, 'resumed')), local);
    assert.equal(existsSync(cache), false);
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
  });
});
