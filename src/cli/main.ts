#!/usr/bin/env node
/**
 * `dk`: the command-line interface. Commands validate their flags here (UsageError, exit 2),
 * then run their job in a worker thread while this thread draws progress bars.
 * Exit codes: 0 ok, 2 bad input, 3 divergence, 1 anything else (a bug: stack shown with --debug).
 */
import { Command, CommanderError } from 'commander';
import { runInWorker, JobError } from '../runtime/worker.js';
import { ProgressView } from './view.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerPaper } from './commands/paper.js';

const REGISTRY = new URL('./jobs.js', import.meta.url);

function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  const code = (e as { exitCode?: number }).exitCode;
  return typeof code === 'number' ? code : 1;
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
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText('after', '\nGlobal flags: --debug (stack traces), --quiet (no progress bars)');
  registerTrain(program, run);
  registerEval(program, run);
  (await import('./commands/specialists.js')).registerSpecialists(program, run);
  registerPaper(program, run);
  (await import('./commands/distill.js')).registerDistill(program, run);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    const code = exitCodeOf(e);
    if (e instanceof CommanderError) return code; // commander already printed its message
    const err = e as Error;
    const msg = err.message.split('\n')[0];
    process.stderr.write(`dk: ${msg}\n`);
    if (debug || code === 1) process.stderr.write(`${(e instanceof JobError && e.workerStack) || err.stack}\n`);
    return code;
  }
}

process.exitCode = await main(process.argv.slice(2));
