/**
 * `dk worker --redis URL`: a long-running process taking jobs from the project's Redis queue
 * (src/queue/worker.ts: teacher-output shards, specialists) and running them with the engine. Runs in
 * this thread (specialists in a worker thread of their own; no progress bars: log lines per job). SIGTERM / SIGINT: stop taking jobs,
 * finish the active ones, close (BullMQ's worker.close()), exit 0.
 */
import type { Command } from 'commander';
import { num } from '../parse.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run jobs (teacher-output shards, specialists) from a Redis queue (start any number, on any machines that reach Redis); see README "Several machines"')
    .requiredOption('--redis <url>', 'the queue: redis://[user:password@]host:6379[/db], or rediss:// for TLS')
    .option('--concurrency <n>', 'jobs run at once in this process', num('concurrency', { min: 1, int: true }), 1)
    .option('--threads <n>', 'onnxruntime threads per teacher-shard job (a specialist job runs with the threads its coordinator gives it, for the same bytes as a local run)', num('threads', { min: 1, int: true }))
    .action(async (f: { redis: string; concurrency: number; threads?: number }) => {
      const [{ startWorker }, { redactUrl, connectionFor }] = await Promise.all([import('../../queue/worker.js'), import('../../queue/redis.js')]);
      connectionFor(f.redis, 'worker'); // checks the URL (UsageError)
      const w = startWorker(f.redis, { concurrency: f.concurrency, threads: f.threads });
      await w.waitUntilReady();
      process.stderr.write(`dk worker: waiting for jobs on ${redactUrl(f.redis)} (concurrency ${f.concurrency}${f.threads ? `, ${f.threads} thread(s)` : ''})\n`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          process.stderr.write(`dk worker: ${sig}: finishing active jobs, then exiting\n`);
          w.close().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
