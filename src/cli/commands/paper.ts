/** `dk paper`: reproduce the paper's MNIST experiments and write results.json + report.html. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PaperArgs } from '../../paper/run.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { choice, intList, num } from '../parse.js';
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

/**
 * Whether a run may write into `dir`: refuses a directory that already holds a report (unless
 * --force, or --resume when `done` is allowed) or an interrupted job (unless --resume or --force).
 * Returns 'done' for a finished run that --resume keeps as it is.
 */
function checkRunDir(dir: string, label: string, f: { force: boolean; resume: boolean }, keepDone: boolean): 'run' | 'done' {
  if (!existsSync(dir)) return 'run';
  if (!statSync(dir).isDirectory()) throw new UsageError(`${label}: exists and is not a directory`);
  const names = readdirSync(dir);
  if (!f.force && names.includes('results.json') && keepDone && f.resume) return 'done';
  if (!f.force && names.some((n) => n === 'results.json' || n === 'report.html')) {
    throw new UsageError(`${label}: already holds a report; pass --force to replace it${keepDone ? ', or --resume to keep it' : ''}`);
  }
  if (!f.force && !f.resume && names.includes(CACHE_DIR)) {
    throw new UsageError(`${label}: holds an interrupted job (${CACHE_DIR}); pass --resume to continue it, or --force to start over`);
  }
  return 'run';
}

type PaperFlags = { profile: PaperArgs['profile']; out: string; threads?: number; seed?: number; seeds?: number[]; resume: boolean; force: boolean; redis?: string };

export function registerPaper(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  program
    .command('paper')
    .description("reproduce the paper's MNIST experiments; writes DIR/results.json and DIR/report.html")
    .option('--profile <name>', 'quick (≤ 10 min) | full (≤ 60 min)', choice('profile', ['quick', 'full', 'tiny'] as const), 'quick')
    .option('--out <dir>', 'output directory', 'runs/paper')
    .option('--threads <n>', 'onnxruntime threads', num('threads', { min: 1, int: true }))
    .option('--seed <n>', "run from another seed (default: the profile's, 1); the ensemble members' seeds move with it", num('seed', { min: 0, int: true }))
    .option('--seeds <list>', 'run once per seed (e.g. 1,2,3) into DIR/seed-N, then summarise the runs as dk seeds does: DIR/seeds.json, DIR/seeds.html', intList('seeds'))
    .option('--resume', `continue a job in DIR that was interrupted: the training runs it finished (kept in DIR/${CACHE_DIR}) are loaded, not trained again; with --seeds, finished seeds are kept`, false)
    .option('--force', 'replace an existing report in DIR, or start an interrupted job over', false)
    .option(
      '--redis <url>',
      `train the runs after the teacher as jobs on this Redis queue, at once, run by \`dk worker --redis URL\` processes on any machines (the same results and models as a local run at the same --threads; finished runs are kept in DIR/${CACHE_DIR} for --resume); see README "Several machines"`,
    )
    .action(async (f: PaperFlags) => {
      if (f.redis !== undefined) (await import('../../queue/redis.js')).connectionFor(f.redis, 'coordinator'); // the URL, before any work
      const dir = resolve(f.out);
      const say = (r: Awaited<ReturnType<typeof paperJob>>, prefix = ''): void => {
        process.stdout.write(
          `${prefix}teacher ${r.teacher}, hard student ${r.hard}, distilled student ${r.distilled} test errors (${(r.seconds / 60).toFixed(1)} min)\nreport: ${r.dir}/report.html\nlook inside, distil here (in the browser): dk serve --dir ${r.dir}\n`,
        );
      };
      const job = async (out: string, seed: number | undefined) =>
        (await run('paper', { profile: f.profile, out, threads: f.threads, seed, resume: f.resume, redis: f.redis } satisfies PaperArgs)) as Awaited<ReturnType<typeof paperJob>>;
      if (!f.seeds) {
        checkRunDir(dir, `--out ${f.out}`, f, false);
        say(await job(dir, f.seed));
        return;
      }
      if (f.seed !== undefined) throw new UsageError('--seed and --seeds: give one or the other');
      if (f.seeds.length < 2 || new Set(f.seeds).size !== f.seeds.length) {
        throw new UsageError(`--seeds: expected two or more different seeds, got '${f.seeds.join(',')}'`);
      }
      // Check every seed's directory, and the summary's files, before training anything.
      const plan = f.seeds.map((seed) => {
        const sub = join(dir, `seed-${seed}`);
        return { seed, sub, state: checkRunDir(sub, `--out ${f.out}: seed-${seed}`, f, true) };
      });
      if (!f.force && !f.resume && ['seeds.json', 'seeds.html'].some((n) => existsSync(join(dir, n)))) {
        throw new UsageError(`--out ${f.out}: already holds a seeds summary; pass --force to replace it`);
      }
      const { readResultsFile } = await import('./report.js');
      for (const p of plan.filter((q) => q.state === 'done')) {
        const kept = await readResultsFile(`--out ${f.out}: seed-${p.seed}/results.json`, join(p.sub, 'results.json'));
        if (kept.config.profile !== f.profile || kept.config.seed !== p.seed) {
          throw new UsageError(
            `--out ${f.out}: seed-${p.seed}/results.json is the ${kept.config.profile} profile from seed ${kept.config.seed}, not ${f.profile} from seed ${p.seed}; pass --force to run it again`,
          );
        }
      }
      for (const p of plan) {
        if (p.state === 'done') process.stdout.write(`seed ${p.seed}: finished earlier, kept (${p.sub}/results.json)\n`);
        else say(await job(p.sub, p.seed), `seed ${p.seed}: `);
      }
      const { writeSeedsSummary, seedsSummaryText } = await import('./seeds.js');
      process.stdout.write(seedsSummaryText(await writeSeedsSummary({ results: plan.map((p) => join(p.sub, 'results.json')), out: dir, force: true })));
    });
}
