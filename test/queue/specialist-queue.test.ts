/**
 * `dk specialists --redis` on a real Redis (started here, on a free port, no persistence) with
 * `dk worker` processes: the specialists directory byte-identical to a local run's with the same
 * seed (two workers; with a worker SIGKILLed mid-job, its job retried by another; with a worker
 * sent SIGTERM mid-job, which finishes it, or SIGINT, which puts it back on the queue), and Redis
 * stopped mid-run → one line, exit 2, then a rerun that trains only the specialists not yet done.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeIdx } from '../../src/data/idx.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { MAIN, assertFailedOnce, children, kill, killAll, requireRedis, startRedis, startWorker, started, until } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'dk-specialist-queue-'));
const data = join(root, 'data');
const gen = join(root, 'g.onnx');
// Four groups of confusable classes on this sample (k = 3, 4, 5; one k-means run each).
const COMMON = ['--generalist', gen, '--data', data, '--groups', '3,4,5', '--runs', '1', '--max-size', '6', '--epochs', '1', '--threads', '1'];
let redis: ChildProcess;
let url: string;
let local: Map<string, Buffer>;
/** Redis here requires a password: it must appear in no output and no file written. */
const PASSWORD = 'pw-never-printed-7f3a';

function dk(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: root, timeout: 60000 });
}

/** Every file of a directory, by name. */
function files(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
}

/** dk specialists --redis in the background: its exit code and its stdout + stderr. */
function coordinator(out: string): { done: Promise<{ code: number | null; stderr: string; stdout: string }>; p: ChildProcess } {
  const p = spawn(process.execPath, [MAIN, 'specialists', ...COMMON, '--redis', url, '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { p, done: new Promise((res) => p.once('exit', (code) => (children.delete(p), res({ code, stdout, stderr })))) };
}

const keptDir = join(root, '.dk-cache', 'jobs');
const kept = () => (existsSync(keptDir) ? readdirSync(keptDir).filter((f) => f.endsWith('.dkj')).length : 0);

describe('specialists on a Redis queue', () => {
  before(async () => {
    requireRedis();
    ({ p: redis, url } = await startRedis(PASSWORD));
    // 3000 training and 500 test examples of MNIST as an IDX directory; a one-epoch generalist.
    mkdirSync(data);
    const { train, test } = loadBuiltinMnist();
    const part = (x: Float32Array, y: Int32Array, n: number, img: string, lab: string) => {
      writeFileSync(join(data, img), encodeIdx([n, 28, 28], Uint8Array.from(x.subarray(0, n * 784), (v) => Math.round(v * 255))));
      writeFileSync(join(data, lab), encodeIdx([n], Uint8Array.from(y.subarray(0, n))));
    };
    part(train.x, train.y, 3000, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
    part(test.x, test.y, 500, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
    const g = dk(['train', '--model', 'mlp:32', '--epochs', '1', '--data', data, '--threads', '1', '--quiet', '--out', gen]);
    assert.equal(g.status, 0, g.stderr);
    const l = dk(['specialists', ...COMMON, '--workers', '2', '--quiet', '--out', join(root, 'local')]);
    assert.equal(l.status, 0, l.stderr);
    local = files(join(root, 'local'));
    assert.equal(local.size, 5, `four specialists and the manifest: ${[...local.keys()].join(', ')}`);
  });
  after(async () => {
    await killAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('a URL that is not redis:// or rediss:// is refused before any work (exit 2, one line, no password)', () => {
    const r = dk(['specialists', ...COMMON, '--redis', 'http://user:secret@127.0.0.1:1', '--out', join(root, 'bad')]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, 'dk: --redis http://user:***@127.0.0.1:1: expected a redis:// or rediss:// URL, got protocol \'http:\'\n');
    assert.equal(existsSync(join(root, 'bad')), false);
  });

  it('two workers: the specialists directory is byte-identical to a local run', async () => {
    const [a, b] = await Promise.all([startWorker(url), startWorker(url)]);
    const c = coordinator(join(root, 'two'));
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(join(root, 'two')), local);
    assert.equal(started(a.out()) + started(b.out()), 4, 'each of the four jobs ran once');
    assert.equal(kept(), 0, 'the kept results are removed once the directory is written');
    await Promise.all([kill(a.p, 'SIGTERM'), kill(b.p, 'SIGTERM')]);
    // The password: in no output, and in no file (the saved config holds the URL redacted).
    for (const text of [r.stdout, r.stderr, a.out(), b.out()]) assert.ok(!text.includes(PASSWORD), text);
    const config = readFileSync(join(root, 'two.config.json'), 'utf8');
    assert.match(config, /"redis": "redis:\/\/:\*\*\*@127\.0\.0\.1:\d+"/);
    const written = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const e of written) assert.ok(!readFileSync(join(e.parentPath, e.name)).includes(PASSWORD), `${e.name} holds the password`);
  });

  it('a worker SIGKILLed mid-job: its job is retried by another worker, the output still identical', async () => {
    const slow = await startWorker(url, { DK_WORKER_HOLD_MS: '60000' });
    const c = coordinator(join(root, 'killed'));
    await until(() => started(slow.out()) > 0, 'the slow worker to take a job');
    await kill(slow.p);
    const fresh = await startWorker(url);
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(join(root, 'killed')), local);
    assert.equal(started(fresh.out()), 4, `the survivor ran all four, the killed one's again:\n${fresh.out()}`);
    await kill(fresh.p, 'SIGTERM');
  });

  it('SIGTERM to a worker mid-job: it finishes that job, takes no other, exits 0; the output still identical', async () => {
    const slow = await startWorker(url, { DK_WORKER_HOLD_MS: '1500' });
    const c = coordinator(join(root, 'sigterm'));
    await until(() => started(slow.out()) > 0, 'the slow worker to take a job');
    slow.p.kill('SIGTERM');
    const other = await startWorker(url);
    assert.equal(await slow.exited, 0, slow.out());
    assert.match(slow.out(), /SIGTERM: finishing the active jobs, then exiting/);
    assert.equal(started(slow.out()), 1, slow.out());
    assert.equal((slow.out().match(/\(specialist\) done /g) ?? []).length, 1, `the job it had was finished:\n${slow.out()}`);
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(join(root, 'sigterm')), local);
    assert.equal(started(other.out()), 3, other.out());
    await kill(other.p, 'SIGTERM');
  });

  it('SIGINT (Ctrl-C) to a worker mid-job: the job goes back to the queue, not as an attempt, and another worker runs it; the output still identical', async () => {
    const slow = await startWorker(url, { DK_WORKER_HOLD_MS: '60000' });
    const c = coordinator(join(root, 'sigint'));
    await until(() => started(slow.out()) > 0, 'the slow worker to take a job');
    slow.p.kill('SIGINT');
    assert.equal(await slow.exited, 0, slow.out());
    assert.match(slow.out(), /SIGINT: returning the active jobs to the queue, then exiting\n(.*\n)*dk worker: job \S+ \(specialist\) returned to the queue, not counted as an attempt/);
    const fresh = await startWorker(url);
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(join(root, 'sigint')), local);
    assert.equal(started(fresh.out()), 4, fresh.out());
    assert.equal((fresh.out().match(/started \(attempt 1\)/g) ?? []).length, 4, `every job on its first attempt:\n${fresh.out()}`);
    await kill(fresh.p, 'SIGTERM');
  });

  it('a malformed specialist payload, a bad training configuration and an unknown job kind are failed at once, not retried', async () => {
    const w = await startWorker(url);
    try {
      const sha = 'a'.repeat(64);
      const good = { v: 1, index: 0, group: [3, 5], generalist: sha, data: { shape: [1, 28, 28], classes: 10, rows: 10, source: 's', x: sha, y: sha, logits: sha }, config: {}, groupShare: 0.5, threads: 1 };
      await assertFailedOnce(url, w.out, [
        ['bad-1', 'specialist', { ...good, groupShare: 2 }, /^malformed specialist job: \/groupShare /],
        ['bad-2', 'specialist', { ...good, config: { epochs: 0 } }, /^malformed specialist job: \/config /],
        ['bad-3', 'make-coffee', good, /^unknown job kind 'make-coffee' \(known: teacher-shard, specialist, paper-fit\)/],
      ]);
    } finally {
      await kill(w.p, 'SIGTERM');
    }
  });

  it('Redis stopped mid-run: one line, exit 2; a rerun trains only the specialists not yet done', async () => {
    // One worker that holds each job 1.5 s: Redis is stopped once the first result is kept.
    const w = await startWorker(url, { DK_WORKER_HOLD_MS: '1500' });
    const c = coordinator(join(root, 'resumed'));
    await until(() => kept() > 0, 'a finished specialist to be kept');
    await kill(redis);
    const r = await c.done;
    const done = kept();
    assert.ok(done >= 1 && done < 4, `some but not all specialists finished (${done})`);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('dk: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^dk: lost the connection to Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:\\d+ \\(.*\\); the specialists were not all trained, nothing written; ${done} of 4 job\\(s\\) finished and are kept in ${keptDir}: rerun the same command to continue$`));
    assert.equal(existsSync(join(root, 'resumed')), false, 'no partial specialists directory');
    await kill(w.p);

    // A fresh Redis (the old one kept nothing), fresh workers: the rerun sends only the rest.
    ({ p: redis, url } = await startRedis(PASSWORD));
    const [a, b] = await Promise.all([startWorker(url), startWorker(url)]);
    const again = coordinator(join(root, 'resumed'));
    const r2 = await again.done;
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, new RegExp(`${done} of 4 job\\(s\\) finished in an earlier run, kept in .*; not sent again`));
    assert.equal(started(a.out()) + started(b.out()), 4 - done, 'the finished specialists were not trained again');
    assert.deepEqual(files(join(root, 'resumed')), local);
    assert.equal(kept(), 0);
  });
});
