/** The job registry: what the CLI's worker thread can run, by name. */
import type { ProgressSink } from '../util/progress.js';
import { evalJob } from './commands/eval.js';
import { trainJob } from './commands/train.js';

export type Job = (args: never, progress: ProgressSink) => Promise<unknown>;

export const JOBS: Record<string, Job> = {
  train: trainJob as Job,
  eval: evalJob as Job,
};
