/** The queue tests' fixtures: a real redis-server on a free port (no persistence), dk processes spawned until they are ready. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { JOB_QUEUE, QUEUE_PREFIX } from '../../src/queue/redis.js';

export const REDIS = '/usr/bin/redis-server';
export const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;

/** Every process spawned here (killed by killAll). */
export const children = new Set<ChildProcess>();

export function requireRedis(): void {
  if (!existsSync(REDIS)) throw new Error(`these tests need redis-server at ${REDIS} (apt-get install redis-server); it is missing`);
  try {
    createRequire(import.meta.url).resolve('ioredis');
  } catch {
    throw new Error("these tests need the 'ioredis' package (BullMQ's Redis client, an optional peer of bullmq); it is not installed");
  }
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface Spawned {
  p: ChildProcess;
  out: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Spawn and wait until a line of its output matches. */
export function spawnUntil(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Spawned> {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  children.add(p);
  const exited = new Promise<number | string>((res) => p.once('exit', (code, sig) => (children.delete(p), res(code ?? sig ?? -1))));
  let text = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} ${args.join(' ')}: no line matching ${ready} within 15 s; output:\n${text}`)), 15000);
    const on = (d: Buffer) => {
      text += d.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        res({ p, out: () => text, exited });
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

/** A redis-server of our own on a free port, bound to 127.0.0.1, no persistence; with `password`, it requires it (and the URL holds it). */
export async function startRedis(password?: string): Promise<{ p: ChildProcess; url: string }> {
  const port = await freePort();
  const auth = password ? ['--requirepass', password] : [];
  const { p } = await spawnUntil(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], /Ready to accept connections/);
  return { p, url: `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}` };
}

/** `dk worker --threads 1` on `url`, ready once it waits for jobs (lock 1 s, so a dead worker's job is found fast). */
export const startWorker = (url: string, env: NodeJS.ProcessEnv = {}) =>
  spawnUntil(process.execPath, [MAIN, 'worker', '--redis', url, '--threads', '1'], /waiting for jobs/, { DK_QUEUE_LOCK_MS: '1000', ...env });

export const kill = (p: ChildProcess, sig: NodeJS.Signals = 'SIGKILL') =>
  new Promise<void>((res) => (p.exitCode !== null || p.signalCode !== null ? res() : (p.once('exit', () => res()), p.kill(sig))));

export const killAll = () => Promise.all([...children].map((c) => kill(c)));

/** Resolve once `test()` holds (polled every 20 ms), or reject after `ms`. */
export function until(test: () => boolean, what: string, ms = 20000): Promise<void> {
  return new Promise((res, rej) => {
    const t = setInterval(() => test() && (clearInterval(t), clearTimeout(to), res()), 20);
    const to = setTimeout(() => (clearInterval(t), rej(new Error(`timed out waiting for ${what}`))), ms);
  });
}

/** How many jobs a worker's log says it started. */
export const started = (out: string) => (out.match(/\) started \(attempt/g) ?? []).length;

/**
 * Add these jobs (id, kind, payload, the failure expected) with 5 attempts allowed, and check that
 * the worker (whose output is `out`) failed each one at once: failed, one attempt, that reason.
 */
export async function assertFailedOnce(url: string, out: () => string, cases: [string, string, unknown, RegExp][]): Promise<void> {
  const q = new Queue(JOB_QUEUE, { connection: { url }, prefix: QUEUE_PREFIX });
  try {
    for (const [id, name, data] of cases) await q.add(name, data, { attempts: 5, jobId: id });
    await until(() => (out().match(/ failed: /g) ?? []).length >= cases.length, `${cases.length} failures`, 10000);
    await new Promise((r) => setTimeout(r, 1500)); // past a retry's backoff and a stalled check
    for (const [id, , , reason] of cases) {
      const j = (await q.getJob(id))!;
      assert.equal(await j.getState(), 'failed', id);
      assert.equal(j.attemptsMade, 1, `${id}: one attempt of the five allowed`);
      assert.match(j.failedReason, reason);
    }
  } finally {
    await q.close();
  }
}
