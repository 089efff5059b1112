/** `dk paper`: reproduce the paper's MNIST experiments and write results.json + report.html. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { PaperArgs } from '../../paper/run.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { choice, num } from '../parse.js';
import { CACHE_DIR } from '../../paper/cache-dir.js';

export async function paperJob(a: PaperArgs, progress: ProgressSink) {
  const { runPaper } = await import('../../paper/run.js');
  const { dir, results } = await runPaper(a, progress);
  return {
    dir,
    teacher: results.teacher.testErrors,
    hard: results.hard.testErrors,
    distilled: results.distilled.testErrors,
    seconds: results.timings.totalSeconds,
  };
}

export function registerPaper(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  program
    .command('paper')
    .description("reproduce the paper's MNIST experiments; writes DIR/results.json and DIR/report.html")
    .option('--profile <name>', 'quick (≤ 10 min) | full (≤ 60 min)', choice('profile', ['quick', 'full', 'tiny'] as const), 'quick')
    .option('--out <dir>', 'output directory', 'runs/paper')
    .option('--threads <n>', 'onnxruntime threads', num('threads', { min: 1, int: true }))
    .option('--seed <n>', "run from another seed (default: the profile's, 1); the ensemble members' seeds move with it", num('seed', { min: 0, int: true }))
    .option('--resume', `continue a job in DIR that was interrupted: the training runs it finished (kept in DIR/${CACHE_DIR}) are loaded, not trained again`, false)
    .option('--force', 'replace an existing report in DIR, or start an interrupted job over', false)
    .action(async (f: { profile: PaperArgs['profile']; out: string; threads?: number; seed?: number; resume: boolean; force: boolean }) => {
      const dir = resolve(f.out);
      if (existsSync(dir)) {
        if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${f.out}: exists and is not a directory`);
        const names = readdirSync(dir);
        if (!f.force && names.some((n) => n === 'results.json' || n === 'report.html')) {
          throw new UsageError(`--out ${f.out}: already holds a report; pass --force to replace it`);
        }
        if (!f.force && !f.resume && names.includes(CACHE_DIR)) {
          throw new UsageError(`--out ${f.out}: holds an interrupted job (${CACHE_DIR}); pass --resume to continue it, or --force to start over`);
        }
      }
      const r = (await run('paper', { profile: f.profile, out: dir, threads: f.threads, seed: f.seed, resume: f.resume } satisfies PaperArgs)) as Awaited<ReturnType<typeof paperJob>>;
      process.stdout.write(
        `teacher ${r.teacher}, hard student ${r.hard}, distilled student ${r.distilled} test errors (${(r.seconds / 60).toFixed(1)} min)\nreport: ${r.dir}/report.html\n`,
      );
    });
}
