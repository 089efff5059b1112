/** The job registry for the specialists' worker threads (read by src/runtime/worker-entry.ts). */
import type { ProgressSink } from '../util/progress.js';
import { type SpecialistJobArgs, specialistJob } from './workers.js';

export const JOBS: Record<string, (args: never, progress: ProgressSink) => Promise<unknown>> = {
  specialist: specialistJob as (args: SpecialistJobArgs, progress: ProgressSink) => Promise<unknown>,
};
