/**
 * `dk worker`'s engine: a long-running BullMQ worker on the project's one queue, running each job
 * with the processor its name picks from the registry below. An unknown name is failed at once
 * (UnrecoverableError), never retried. Each job's processor gets the Redis client (for blobs)
 * and this worker's runtime options; it returns one result blob and plain-JSON facts.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { RuntimeOptions } from '../runtime/session.js';
import { type Client, JOB_QUEUE, type JobOutput, QUEUE_PREFIX, connectionFor, lockMs } from './redis.js';
import { runTeacherShard } from './teacher-jobs.js';
import { runSpecialistJob } from './specialist-jobs.js';
import { runPaperFitJob } from './fit-jobs.js';

type Processor = (client: Client, data: unknown, runtime: RuntimeOptions, log: (line: string) => void) => Promise<JobOutput>;

/** The job kinds a worker runs, by job name. */
export const PROCESSORS: Record<string, Processor> = {
  'teacher-shard': runTeacherShard,
  specialist: runSpecialistJob,
  'paper-fit': runPaperFitJob,
};

export interface WorkerOptions {
  concurrency?: number;
  threads?: number;
  log?: (line: string) => void;
}

/** A long-running worker on the queue (close it with worker.close()). */
export function startWorker(url: string, o: WorkerOptions = {}): Worker {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const lock = lockMs();
  const runtime: RuntimeOptions = { threads: o.threads };
  let client: Client | null = null;
  const w: Worker = new Worker(
    JOB_QUEUE,
    async (job: Job) => {
      const run = Object.hasOwn(PROCESSORS, job.name) ? PROCESSORS[job.name] : undefined;
      if (!run) throw new UnrecoverableError(`unknown job kind '${job.name}' (known: ${Object.keys(PROCESSORS).join(', ')}); is this worker's dark-knowledge the coordinator's version?`);
      client ??= await w.getBackend().client;
      const t0 = performance.now();
      log(`dk worker: job ${job.id} (${job.name}) started (attempt ${job.attemptsMade + 1})`);
      // A test hook: hold each job this long first (so a test can kill a worker mid-job).
      const hold = Number(process.env.DK_WORKER_HOLD_MS ?? 0);
      if (hold > 0) await new Promise((r) => setTimeout(r, hold));
      const r = await run(client, job.data, runtime, (line) => log(`dk worker: job ${job.id}: ${line}`));
      log(`dk worker: job ${job.id} (${job.name}) done (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
      return r;
    },
    { connection: connectionFor(url, 'worker'), prefix: QUEUE_PREFIX, concurrency: o.concurrency ?? 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2 },
  );
  w.on('failed', (job, err) => log(`dk worker: job ${job?.id ?? '?'} failed: ${err.message.split('\n')[0]}`));
  w.on('error', (err) => log(`dk worker: ${err.message.split('\n')[0]}`));
  return w;
}
