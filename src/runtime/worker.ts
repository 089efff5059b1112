/**
 * Long jobs run in a worker thread (ORT's run blocks its thread), so the main thread stays free
 * to draw progress and react to Ctrl-C. A job is a named async function in the job registry
 * (src/cli/jobs.ts); it receives plain-JSON arguments and a progress sink, and returns a
 * plain-JSON result. Errors come back with their name and exit code.
 */
import { Worker } from 'node:worker_threads';
import type { ParamProblem } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';

export type WorkerMessage =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'result'; value: unknown }
  | { type: 'error'; name: string; message: string; exitCode?: number; problem?: ParamProblem; stack?: string };

export class JobError extends Error {
  constructor(
    name: string,
    message: string,
    readonly exitCode: number | undefined,
    readonly workerStack?: string,
    /** The parameter problem of a UsageError, carried across the thread boundary. */
    readonly problem?: ParamProblem,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * Run `job` from the registry module `registryUrl` in a worker thread. With `signal`, an abort
 * rejects with JobError 'Cancelled' (the signal's reason as message when it is a string) and
 * asks the worker to stop: a flag the worker reads at its next progress event, where the job
 * throws and the worker ends by itself. The worker is never terminated from outside:
 * Worker.terminate() during an onnxruntime-node run aborts the whole process (the native
 * callback throws into a torn-down environment: "terminate called after throwing an instance
 * of 'Napi::Error'").
 */
export function runInWorker(
  registryUrl: URL,
  job: string,
  args: unknown,
  onProgress: (e: ProgressEvent) => void,
  signal?: AbortSignal,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new JobError('Cancelled', typeof signal?.reason === 'string' ? signal.reason : 'cancelled', 1);
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: { registry: registryUrl.href, job, args, stop: stop.buffer } });
    let settled = false;
    const onAbort = () => {
      Atomics.store(stop, 0, 1);
      if (!settled) {
        settled = true;
        reject(cancelled());
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const onSignal = () => {
      Atomics.store(stop, 0, 1);
      if (!settled) {
        settled = true;
        reject(new JobError('Interrupted', 'interrupted', 130));
      }
    };
    process.once('SIGINT', onSignal);
    w.on('message', (m: WorkerMessage) => {
      if (settled && m.type === 'progress') return; // cancelled: the worker is winding down
      if (m.type === 'progress') onProgress(m.event);
      else if (m.type === 'result') {
        settled = true;
        resolve(m.value);
      } else if (m.type === 'error') {
        settled = true;
        reject(new JobError(m.name, m.message, m.exitCode, m.stack, m.problem));
      }
    });
    w.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    w.on('exit', (code) => {
      process.removeListener('SIGINT', onSignal);
      signal?.removeEventListener('abort', onAbort);
      if (!settled) {
        settled = true;
        reject(new JobError('WorkerExit', `the job's worker exited with code ${code}`, 1));
      }
    });
  });
}
