/**
 * The coordinator's side of any job kind: put the jobs' input blobs into Redis, add the jobs,
 * wait for them (showing done / running / waiting), fetch and check each result, and hand them
 * back in order.
 *
 * Kept results (./kept.ts): with `keep`, each result is saved on disk as it arrives; jobs whose
 * result is already kept (an earlier run was interrupted) are not sent at all, their blobs not
 * even uploaded. On success the kept files of this run are removed (the caller has the results).
 *
 * Losing Redis: the coordinator's connection gives up after a few retries and the run stops
 * with one line (QueueError, exit 2) saying so, and how many finished jobs are kept for a rerun.
 * A job that fails for good (its attempts used up, or an unrecoverable error) stops the run too,
 * naming the job; the jobs not yet run are then taken off the queue (best effort).
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { UsageError } from '../util/errors.js';
import { Phase, type ProgressSink } from '../util/progress.js';
import { type KeptResult, type KeptResults, jobKey } from './kept.js';
import { BLOB_TTL_S, type Client, JOB_QUEUE, type JobOutput, QUEUE_PREFIX, QueueError, attempts, blobKey, connectionFor, getBlob, kernelsInUse, putBlob, redactUrl, sha256 } from './redis.js';

export interface JobToRun {
  /** The job kind (the worker's registry key). */
  name: string;
  /** Plain JSON; names its input blobs by sha256. */
  payload: Record<string, unknown>;
  /** The bytes behind the payload's hashes (uploaded only if the job is sent); `sha`: their sha256 when the caller has it. */
  blobs: { bytes: Uint8Array; what: string; sha?: string }[];
  /** For messages, e.g. 'rows 0..4999'. */
  what: string;
  /** Weight in the progress bar (e.g. rows); default 1. */
  weight?: number;
}

export interface RunJobsOptions {
  /** Heading of the progress bar and of the messages, e.g. 'teacher t.onnx (train)'. */
  label: string;
  /** What is left unfinished when the run stops early, for the lost-connection message. */
  unfinished: string;
  keep?: KeptResults | null;
  /** How to continue, in the lost-connection message (default, with kept results only: rerun the same command). */
  rerun?: string;
  progress?: ProgressSink;
  /** Check a result before it is kept and used (throw a QueueError naming the job if it is wrong). */
  check?: (i: number, r: KeptResult) => void;
  /** Each result as it arrives (checked, kept), while the other jobs may still run. */
  onResult?: (i: number, r: KeptResult) => void;
  /** Stop when this aborts (the caller's other work failed): the jobs not yet done are taken off the queue and the abort's reason is thrown. */
  signal?: AbortSignal;
}

/**
 * Input blobs of the jobs this process has on the queue, not yet done, by sha256 (over every
 * runJobs call: the paper job runs several at once, and its specialists' training data is its
 * own training set). A blob still counted here is never deleted.
 */
const inFlight = new Map<string, number>();
function hold(shas: readonly string[]): void {
  for (const h of shas) inFlight.set(h, (inFlight.get(h) ?? 0) + 1);
}
function release(shas: readonly string[]): void {
  for (const h of shas) {
    const n = (inFlight.get(h) ?? 1) - 1;
    if (n > 0) inFlight.set(h, n);
    else inFlight.delete(h);
  }
}

/** Run `jobs` on the queue at `url`; results in the order of `jobs`. */
export async function runJobs(url: string, jobs: readonly JobToRun[], o: RunJobsOptions): Promise<KeptResult[]> {
  const log = (text: string) => o.progress?.({ kind: 'log', text });
  const where = redactUrl(url);
  const keys = jobs.map((j) => jobKey(j.name, j.payload));
  const results: (KeptResult | null)[] = keys.map((k) => o.keep?.get(k, (why) => log(`${o.label}: a kept result is unusable (${why}); sending that job again`)) ?? null);
  for (const [i, r] of results.entries()) {
    if (!r) continue;
    try {
      o.check?.(i, r);
    } catch (e) {
      log(`${o.label}: the kept result of ${jobs[i].what} does not fit (${(e as Error).message}); sending that job again`);
      results[i] = null;
    }
  }
  const keptBefore = results.filter((r) => r !== null).length;
  const weight = (i: number) => jobs[i].weight ?? 1;
  const total = jobs.reduce((s, _j, i) => s + weight(i), 0);
  if (keptBefore > 0) log(`${o.label}: ${keptBefore} of ${jobs.length} job(s) finished in an earlier run, kept in ${o.keep!.dir}; not sent again`);
  const finish = () => {
    o.keep?.remove(keys);
    return results as KeptResult[];
  };
  if (keptBefore === jobs.length) return finish();

  const queue = new Queue(JOB_QUEUE, { connection: connectionFor(url, 'coordinator'), prefix: QUEUE_PREFIX });
  let lastErr = '';
  queue.on('error', (e) => (lastErr = e.message));
  const done = () => results.filter((r) => r !== null).length;
  const lost = (e: unknown) => {
    const kept = o.keep && done() > 0 ? `; ${done()} of ${jobs.length} job(s) finished and are kept in ${o.keep.dir}: ${o.rerun ?? 'rerun the same command to continue'}` : o.rerun ? `; ${o.rerun}` : '';
    return new QueueError(`lost the connection to Redis at ${where} (${(e as Error).message.split('\n')[0] || lastErr}); ${o.unfinished}${kept}`);
  };
  const run = randomBytes(6).toString('hex');
  const phase = o.progress ? new Phase(o.progress, `queue-${run}`, `${o.label} (queue)`, total) : null;
  const sent: { i: number; id: string; blobs: string[] }[] = [];
  let cleanup = () => {};
  try {
    let client: Client;
    try {
      client = await queue.getBackend().client;
    } catch (e) {
      throw lost(e);
    }
    client.on('error', (e: Error) => (lastErr = e.message)); // reported once, by `lost`
    // What stops the run: our own one-line errors as they are; Redis refusing a command (e.g. out
    // of memory) in one line; anything else while connected is a bug, thrown as it is; else the
    // connection is gone.
    const failure = (e: unknown): unknown => {
      if (e instanceof UsageError) return e;
      if ((e as Error).name === 'ReplyError') return new QueueError(`Redis at ${where} refused a command (${(e as Error).message.split('\n')[0]}); ${o.unfinished}`);
      return client.status === 'ready' ? e : lost(e);
    };
    // Blobs used by this job alone are deleted when it is done, unless another job of this
    // process still needs them (inFlight); shared ones (a teacher, the specialists' training
    // data) are left to expire, since another run may be using them.
    const uses = new Map<string, number>();
    const holding = new Map<number, string[]>();
    for (const [i, j] of jobs.entries()) {
      if (results[i]) continue;
      const shas = j.blobs.map((b) => b.sha ?? sha256(b.bytes));
      for (const h of shas) uses.set(h, (uses.get(h) ?? 0) + 1);
      hold(shas);
      holding.set(i, shas);
    }
    cleanup = () => holding.forEach((shas) => release(shas));
    const stopped = () => {
      if (o.signal?.aborted) throw o.signal.reason;
    };
    try {
      const uploaded = new Set<string>();
      for (const [i, j] of jobs.entries()) {
        if (results[i]) continue;
        stopped();
        const shas = holding.get(i)!;
        for (const [k, b] of j.blobs.entries()) {
          if (!uploaded.has(shas[k])) await putBlob(client, b.bytes, b.what);
          uploaded.add(shas[k]);
        }
        const id = `${run}-${i}`;
        await queue.add(j.name, j.payload, { jobId: id, attempts: attempts(), backoff: { type: 'fixed', delay: 500 }, removeOnFail: { age: BLOB_TTL_S } });
        sent.push({ i, id, blobs: shas });
      }
    } catch (e) {
      await Promise.all(sent.map((s) => queue.remove(s.id).catch(() => 0))).catch(() => undefined); // best effort, as below
      throw failure(e);
    }
    log(`${o.label}: ${sent.length} job(s) on ${where} (queue ${JOB_QUEUE})`);
    const resultBlobs = new Set<string>();
    let lastLine = '';
    const open = new Set(sent);
    const kernels = kernelsInUse();
    for (;;) {
      let running = 0;
      let waiting = 0;
      try {
        stopped();
        for (const s of [...open]) {
          let job = await queue.getJob(s.id);
          const vanished = () => new QueueError(`${o.label}: job ${s.id} (${jobs[s.i].what}) vanished from the queue on ${where}`);
          if (!job) throw vanished();
          const state = await job.getState();
          if (state === 'completed') {
            // Read again: it may have completed between the read above and getState.
            job = await queue.getJob(s.id);
            if (!job) throw vanished();
            const out = job.returnvalue as JobOutput | null;
            if (!out || typeof out.blob !== 'string' || typeof out.meta !== 'object') throw new QueueError(`${o.label}: job ${s.id} (${jobs[s.i].what}) completed without a result; is the worker's dark-knowledge the coordinator's version?`);
            if (out.kernels !== kernels) {
              throw new QueueError(
                `${o.label}: job ${s.id} (${jobs[s.i].what}) ran on a worker whose kernels are ${out.kernels ?? 'unreported'}; this coordinator's are ${kernels}: ` +
                  `its results would differ from a local run's in rounding; build both alike (the native kernels need g++ and libdnnl-dev; DK_NATIVE=0 turns them off)`,
              );
            }
            const b = await getBlob(client, out.blob);
            if (b === null) throw new QueueError(`${o.label}: the result of job ${s.id} (${jobs[s.i].what}) is missing from Redis`);
            const r: KeptResult = { meta: out.meta, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
            o.check?.(s.i, r);
            o.keep?.put(keys[s.i], r);
            results[s.i] = r;
            open.delete(s);
            o.onResult?.(s.i, r);
            // Result blobs go at the end of the run (two jobs may return the same bytes, hence the same blob).
            resultBlobs.add(out.blob);
            release(s.blobs);
            holding.delete(s.i);
            const own = s.blobs.filter((h) => uses.get(h) === 1 && !inFlight.has(h));
            if (own.length) await client.del(...own.map(blobKey));
            await job.remove().catch(() => undefined);
          } else if (state === 'failed') {
            throw new QueueError(`${o.label}: job ${s.id} (${jobs[s.i].what}) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
          } else if (state === 'active') running++;
          else waiting++;
        }
      } catch (e) {
        // Best effort: the run is over, so its jobs not yet run are taken off the queue.
        await Promise.all([...open].map((s) => queue.remove(s.id).catch(() => 0))).catch(() => undefined);
        throw failure(e);
      }
      const n = done();
      phase?.tick(results.reduce((a, r, i) => a + (r ? weight(i) : 0), 0), `jobs ${n} done, ${running} running, ${waiting} waiting`);
      const line = `${o.label}: jobs ${n}/${jobs.length} done, ${running} running, ${waiting} waiting`;
      if (line !== lastLine) log(line);
      lastLine = line;
      if (open.size === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (resultBlobs.size) await client.del(...[...resultBlobs].map(blobKey)).catch(() => undefined);
    return finish();
  } finally {
    cleanup();
    phase?.stop();
    await queue.close().catch(() => undefined);
  }
}
