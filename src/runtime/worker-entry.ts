/** Worker-thread side of runInWorker: load the job registry, run the job, post events and result. */
import { parentPort, workerData } from 'node:worker_threads';
import type { ParamProblem } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import type { WorkerMessage } from './worker.js';

type Job = (args: unknown, progress: (e: ProgressEvent) => void) => Promise<unknown>;

const { registry, job, args, stop } = workerData as { registry: string; job: string; args: unknown; stop: SharedArrayBuffer };
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
/** Set by runInWorker when the job is cancelled: the job stops at its next progress event. */
const stopFlag = new Int32Array(stop);

class Cancelled extends Error {
  override name = 'Cancelled';
}

try {
  const mod = (await import(registry)) as { JOBS: Record<string, Job> };
  const fn = mod.JOBS[job];
  if (!fn) throw new RangeError(`unknown job '${job}'`);
  const value = await fn(args, (event) => {
    if (Atomics.load(stopFlag, 0) !== 0) throw new Cancelled('cancelled');
    post({ type: 'progress', event });
  });
  post({ type: 'result', value });
} catch (e) {
  const err = e as Error & { exitCode?: number; problem?: ParamProblem };
  post({ type: 'error', name: err.name ?? 'Error', message: err.message ?? String(e), exitCode: err.exitCode, problem: err.problem, stack: err.stack });
}
