/** `dk data`: make datasets that `--data DIR` reads. `dk data mnist-pairs`: the 100-class task of two MNIST digits side by side. */
import type { Command } from 'commander';
import { PAIRS_DEFAULTS, PAIRS_MAX, PAIRS_MIN } from '../../data/pairs.js';
import { num } from '../parse.js';

const PAIRS = { ...PAIRS_DEFAULTS, min: PAIRS_MIN, max: PAIRS_MAX } as const;

export function registerData(program: Command): void {
  const data = program.command('data').description('make datasets that --data DIR reads');
  data
    .command('mnist-pairs')
    .description(
      'the 100-class task from the built-in MNIST: two digits side by side (28×56 images), class = 10·left + right; ' +
        "training pairs from MNIST's training images, test pairs from its test images; balanced classes; written as an MNIST-style IDX directory",
    )
    .requiredOption('--out <DIR>', 'directory to write (must not exist or be empty, unless --force)')
    .option('--train <n>', `training pairs (${PAIRS.min}..${PAIRS.max})`, num('train', { int: true, min: PAIRS.min, max: PAIRS.max }), PAIRS.train)
    .option('--test <n>', `test pairs (${PAIRS.min}..${PAIRS.max})`, num('test', { int: true, min: PAIRS.min, max: PAIRS.max }), PAIRS.test)
    .option('--seed <n>', 'seed of the draws (the same seed gives the same bytes)', num('seed', { int: true, min: 0 }), PAIRS.seed)
    .option('--force', 'replace a non-empty DIR', false)
    .action(async (f: { out: string; train: number; test: number; seed: number; force: boolean }) => {
      const { writeMnistPairs, PAIR_CLASSES } = await import('../../data/pairs.js');
      const t0 = performance.now();
      const w = writeMnistPairs(f.out, { train: f.train, test: f.test, seed: f.seed, force: f.force });
      process.stdout.write(
        `wrote ${w.dir}: ${w.train.toLocaleString('en')} training and ${w.test.toLocaleString('en')} test pairs, 28×56, ${PAIR_CLASSES} classes (seed ${f.seed}; ${w.files.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n` +
          `use it as --data ${f.out}\n`,
      );
    });
  for (const c of data.commands) c.exitOverride();
}
