#!/usr/bin/env node
/**
 * `dk`: the command-line interface. Commands validate their flags here (UsageError, exit 2),
 * then run their job in a worker thread while this thread draws progress bars.
 * Exit codes: 0 ok, 2 bad input (files, flags, configs, a full disk), 3 divergence, 130
 * interrupted, 1 anything else (a bug). Errors print one line `dk: <message>`; the stack trace
 * only with --debug.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { runInWorker, JobError } from '../runtime/worker.js';
import { ProgressView } from './view.js';
import { describeForCli } from './flags.js';
import type { ParamProblem } from '../util/errors.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerPaper } from './commands/paper.js';

const REGISTRY = new URL('./jobs.js', import.meta.url);
/** The version, read from package.json (this file runs as dist/src/cli/main.js). */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** System errors that are the machine's or the user's doing (a full disk, permissions), not a bug. */
const SYSTEM_ERROR = /^(ENOSPC|EDQUOT|EFBIG|EROFS|EACCES|EPERM|ENOENT|ENOTDIR|EISDIR|EMFILE|ENFILE|EIO)\b/;

function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  const code = (e as { exitCode?: number } | null)?.exitCode;
  if (typeof code === 'number') return code;
  const sys = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof sys === 'string' && SYSTEM_ERROR.test(sys)) return 2;
  if (SYSTEM_ERROR.test(String((e as Error | null)?.message ?? ''))) return 2; // from the worker, code lost
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const quiet = argv.includes('--quiet');
  const args = argv.filter((a) => a !== '--debug' && a !== '--quiet');
  const view = new ProgressView(quiet);
  const run = async (job: string, jobArgs: unknown) => {
    try {
      return await runInWorker(REGISTRY, job, jobArgs, view.handle);
    } finally {
      view.close();
    }
  };
  const program = new Command();
  program
    .name('dk')
    .description("dark-knowledge: Hinton's knowledge distillation — model compression and specialist networks")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText('after', '\nGlobal flags: --debug (stack traces), --quiet (no progress bars)');
  registerTrain(program, run);
  registerEval(program, run);
  (await import('./commands/specialists.js')).registerSpecialists(program, run);
  registerPaper(program, run);
  (await import('./commands/report.js')).registerReport(program);
  (await import('./commands/seeds.js')).registerSeeds(program);
  (await import('./commands/distill.js')).registerDistill(program, run);
  (await import('./commands/worker.js')).registerWorker(program);
  (await import('./commands/serve.js')).registerServe(program);
  (await import('./commands/data.js')).registerData(program);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    const code = exitCodeOf(e);
    if (e instanceof CommanderError) return code; // commander already printed its message
    const err = e instanceof Error ? e : new Error(String(e));
    const problem = (e as { problem?: ParamProblem }).problem;
    const msg = (problem ? describeForCli(problem) : err.message).split('\n')[0];
    process.stderr.write(`dk: ${code === 1 ? 'internal error: ' : ''}${msg}\n`);
    if (debug) process.stderr.write(`${(e instanceof JobError && e.workerStack) || err.stack}\n`);
    else if (code === 1) process.stderr.write('dk: this is a bug; run again with --debug for the stack trace, and please report it\n');
    return code;
  }
}

// A reader that stops early (`dk train --help | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});
process.exitCode = await main(process.argv.slice(2));
