/**
 * `dk worker --redis URL`: a long-running process taking jobs from the project's Redis queue
 * (src/queue/worker.ts: teacher-output shards, specialists, the paper job's training runs) and
 * running them with the engine. Runs in this thread (specialists and paper runs in a worker
 * thread of their own; no progress bars: log lines per job). SIGTERM: stop taking jobs, finish the active ones, close, exit 0. SIGINT
 * (Ctrl-C), or a second signal: stop the active jobs now and put them back on the queue (not
 * counted as an attempt; another worker runs them from the start), close, exit 0.
 */
import type { Command } from 'commander';
import { num } from '../parse.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run jobs (teacher-output shards, specialists, the paper job\'s training runs) from a Redis queue (start any number, on any machines that reach Redis); see README "Several machines"')
    .requiredOption('--redis <url>', 'the queue: redis://[user:password@]host:6379[/db], or rediss:// for TLS')
    .option('--concurrency <n>', 'jobs run at once in this process', num('concurrency', { min: 1, int: true }), 1)
    .option('--threads <n>', 'onnxruntime threads per teacher-shard job (a specialist or paper-run job runs with the threads its coordinator gives it, for the same bytes as a local run)', num('threads', { min: 1, int: true }))
    .action(async (f: { redis: string; concurrency: number; threads?: number }) => {
      const [{ startWorker }, { redactUrl, connectionFor }] = await Promise.all([import('../../queue/worker.js'), import('../../queue/redis.js')]);
      connectionFor(f.redis, 'worker'); // checks the URL (UsageError)
      const w = startWorker(f.redis, { concurrency: f.concurrency, threads: f.threads });
      await w.worker.waitUntilReady();
      process.stderr.write(`dk worker: waiting for jobs on ${redactUrl(f.redis)} (concurrency ${f.concurrency}${f.threads ? `, ${f.threads} thread(s)` : ''})\n`);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const stop = (sig: string) => {
          // SIGTERM (a service manager): finish the active jobs. SIGINT (Ctrl-C), or a second signal: return them now.
          const now = sig === 'SIGINT' || signals++ > 0;
          process.stderr.write(
            now ? `dk worker: ${sig}: returning the active jobs to the queue, then exiting\n` : `dk worker: ${sig}: finishing the active jobs, then exiting (signal again to return them to the queue now)\n`,
          );
          w.close(now ? 'return' : 'finish').then(resolve, resolve);
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
    });
}
