/**
 * `dk worker`'s engine: a long-running BullMQ worker on the project's one queue, running each job
 * with the processor its name picks from the registry below. An unknown name is failed at once
 * (UnrecoverableError), never retried. Each job's processor gets the Redis client (for blobs),
 * this worker's runtime options and a signal that stops the job; it returns one result blob and
 * plain-JSON facts.
 *
 * Stopping: `close('finish')` takes no more jobs and lets the active ones finish;
 * `close('return')` stops the active ones at once and puts them back on the queue (waiting, not
 * counted as an attempt), for another worker to run from the start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { JobError } from '../runtime/worker.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { type Client, JOB_QUEUE, type JobOutput, QUEUE_PREFIX, connectionFor, kernelsInUse, lockMs } from './redis.js';
import { runTeacherShard } from './teacher-jobs.js';
import { runSpecialistJob } from './specialist-jobs.js';
import { runPaperFitJob } from './fit-jobs.js';

type Processor = (client: Client, data: unknown, runtime: RuntimeOptions, log: (line: string) => void, signal: AbortSignal) => Promise<JobOutput>;

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

export interface RunningWorker {
  worker: Worker;
  /** Stop: let the active jobs finish, or return them to the queue now; resolves once closed. */
  close(how: 'finish' | 'return'): Promise<void>;
}

/** A long-running worker on the queue. */
export function startWorker(url: string, o: WorkerOptions = {}): RunningWorker {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const lock = lockMs();
  // Jobs run side by side when concurrency > 1: their sessions' threads must not spin (runtime/core.ts).
  const runtime: RuntimeOptions = { threads: o.threads, ...((o.concurrency ?? 1) > 1 ? { spinning: false } : {}) };
  const giveBack = new AbortController();
  let client: Client | null = null;
  const w: Worker = new Worker(
    JOB_QUEUE,
    async (job: Job, token?: string) => {
      const run = Object.hasOwn(PROCESSORS, job.name) ? PROCESSORS[job.name] : undefined;
      if (!run) throw new UnrecoverableError(`unknown job kind '${job.name}' (known: ${Object.keys(PROCESSORS).join(', ')}); is this worker's dark-knowledge the coordinator's version?`);
      client ??= await w.getBackend().client;
      const t0 = performance.now();
      log(`dk worker: job ${job.id} (${job.name}) started (attempt ${job.attemptsMade + 1})`);
      let r: JobOutput;
      try {
        // A test hook: hold each job this long first (so a test can stop or kill a worker mid-job).
        const hold = Number(process.env.DK_WORKER_HOLD_MS ?? 0);
        if (hold > 0) await sleep(hold, undefined, { signal: giveBack.signal });
        r = await run(client, job.data, runtime, (line) => log(`dk worker: job ${job.id}: ${line}`), giveBack.signal);
      } catch (e) {
        // Stopped by close('return') (or by Ctrl-C inside its thread: runInWorker's 'Interrupted'):
        // back to the queue as it was, for another worker.
        const stopped = giveBack.signal.aborted || (e instanceof JobError && (e.name === 'Interrupted' || e.name === 'Cancelled'));
        if (!stopped) throw e;
        try {
          await job.moveToWait(token);
        } catch (m) {
          log(`dk worker: job ${job.id} (${job.name}) could not be returned to the queue (${(m as Error).message.split('\n')[0]}); it goes back when its lock runs out`);
          throw e;
        }
        log(`dk worker: job ${job.id} (${job.name}) returned to the queue, not counted as an attempt`);
        throw new WaitingError();
      }
      log(`dk worker: job ${job.id} (${job.name}) done (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
      return { ...r, kernels: kernelsInUse() };
    },
    { connection: connectionFor(url, 'worker'), prefix: QUEUE_PREFIX, concurrency: o.concurrency ?? 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2 },
  );
  w.on('failed', (job, err) => log(`dk worker: job ${job?.id ?? '?'} failed: ${err.message.split('\n')[0]}`));
  w.on('error', (err) => log(`dk worker: ${err.message.split('\n')[0]}`));
  let closing: Promise<void> | null = null;
  return {
    worker: w,
    close(how) {
      if (how === 'return') giveBack.abort();
      // worker.close() stops taking jobs, waits for the active ones (finished or returned), then disconnects.
      closing ??= w.close();
      return closing;
    },
  };
}
