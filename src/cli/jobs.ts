/** The job registry: what the CLI's worker thread can run, by name. */
import type { ProgressSink } from '../util/progress.js';
import { evalJob } from './commands/eval.js';
import { trainJob } from './commands/train.js';
import { paperJob } from './commands/paper.js';

export type Job = (args: never, progress: ProgressSink) => Promise<unknown>;

export const JOBS: Record<string, Job> = {
  train: trainJob as Job,
  eval: evalJob as Job,
  specialists: (async (a: never, p: ProgressSink) => (await import('./commands/specialists.js')).specialistsJob(a, p)) as Job,
  paper: paperJob as Job,
  distill: (async (a: never, p: ProgressSink) => (await import('./commands/distill.js')).distillJob(a, p)) as Job,
};
