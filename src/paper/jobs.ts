/** The job registry for a `dk worker`'s paper-fit threads (read by src/runtime/worker-entry.ts). */
import type { ProgressSink } from '../util/progress.js';
import { type FitJobArgs, fitJob } from './fit.js';

export const JOBS: Record<string, (args: never, progress: ProgressSink) => Promise<unknown>> = {
  'paper-fit': fitJob as (args: FitJobArgs, progress: ProgressSink) => Promise<unknown>,
};
