/**
 * `dk specialists`: find groups of classes the generalist confuses, train one specialist per
 * group (in parallel worker threads) and write them with a manifest into a directory.
 */
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { checkOutDir, writeSpecialistsDir } from '../../specialists/files.js';
import { KEPT_SUBDIR } from '../../queue/kept.js';
import type { TrainConfig } from '../../train/trainer.js';
import { UsageError } from '../../util/errors.js';
import type { ProgressSink } from '../../util/progress.js';
import { choice, holdoutAmount, intList, num } from '../parse.js';
import { DEFAULT_GROUP_SEARCH, DEFAULT_STRENGTH, GROUP_SEARCHES, type GroupSearch } from '../../specialists/search-names.js';
import type { HeldOutChoice } from '../../specialists/select.js';
import { DUSTBIN_INITS, type DustbinInit } from '../../specialists/dustbin.js';
import { type CommonFlags, addTrainingFlags, trainConfigFrom } from './train.js';
import { readUserFile } from '../../util/read.js';
import { checkImageFlagsApply, imageFlagsFrom } from '../data.js';

/** Defaults of the specialists' training (the generalist's weights are the start). */
export const SPECIALIST_DEFAULTS = { epochs: 10, lr: 0.05, temperature: 2, alpha: 0, runs: 3, minSize: 2, groupShare: 0.5 } as const;

export interface SpecialistsJobArgs {
  generalist: string;
  data: string;
  /** Image-folder options for `data`. */
  images?: import('../data.js').ImageFlags;
  out: string;
  force: boolean;
  temperature: number;
  groups?: number[];
  /** robust (default) or paper (k-means on the covariance columns; implied by --groups). */
  groupSearch?: GroupSearch;
  strength?: number;
  /** Robust search: levels of nested groups (1: disjoint groups). */
  levels?: number;
  holdout?: number;
  runs: number;
  minSize: number;
  maxSize?: number;
  groupShare: number;
  train: TrainConfig;
  workers: number;
  threads?: number;
  dropout?: { dropout?: number; inputDropout?: number };
  dustbinInit?: DustbinInit;
  /** Train the specialists as jobs on this Redis queue (dk worker processes run them). */
  redis?: string;
}

export interface SpecialistsJobResult {
  out: string;
  groupLines: string[];
  generalistTrainErrors: number;
  trainExamples: number;
  search: string;
  selection?: HeldOutChoice;
  specialists: { file: string; group: number[]; groupFraction: number; dustbinBias: number; seconds: number; loss: number; trainAccuracy: number }[];
  seconds: { generalist: number; grouping: number; training: number; selection?: number };
  workers: number;
}

export async function specialistsJob(a: SpecialistsJobArgs, progress: ProgressSink): Promise<SpecialistsJobResult> {
  const [{ openData }, { buildSpecialists }, { formatGroupConfusions }] = await Promise.all([
    import('../../data/load.js'),
    import('../../specialists/pipeline.js'),
    import('../../specialists/confusability.js'),
  ]);
  const bytes = readUserFile(`--generalist ${a.generalist}`, a.generalist);
  const { train } = await openData(a.data, { ...a.images, progress });
  const built = await buildSpecialists({
    generalist: bytes,
    generalistName: basename(a.generalist),
    train,
    temperature: a.temperature,
    grouping: { search: a.groupSearch, strength: a.strength, levels: a.levels, runs: a.runs, groupsPerRun: a.groups, minSize: a.minSize, maxSize: a.maxSize, seed: a.train.seed },
    holdout: a.holdout,
    config: a.train,
    groupShare: a.groupShare,
    workers: a.workers,
    threads: a.threads,
    dropout: a.dropout,
    dustbinInit: a.dustbinInit,
    progress,
    redis: a.redis,
    // Finished specialists are kept with the cache (unless --no-cache), for a rerun after losing Redis.
    keepDir: a.redis === undefined || !a.images?.cacheDir ? null : join(a.images.cacheDir, KEPT_SUBDIR),
  });
  const extras = built.selection ? [{ name: SELECTION_FILE, text: JSON.stringify({ rule: SELECTION_RULE, ...built.selection }, null, 2) + '\n' }] : [];
  const out = writeSpecialistsDir(a.out, built.manifest, built.files, a.force, extras);
  return {
    out,
    groupLines: formatGroupConfusions(built.confusions),
    generalistTrainErrors: built.generalistTrainErrors,
    trainExamples: built.fitExamples,
    search: built.search,
    selection: built.selection,
    specialists: built.results.map((r, i) => {
      const last = r.history[r.history.length - 1];
      return { file: built.files[i].name, group: r.group, groupFraction: r.groupFraction, dustbinBias: r.dustbinBias, seconds: r.seconds, loss: last.loss, trainAccuracy: last.trainAccuracy };
    }),
    seconds: built.seconds,
    workers: a.workers,
  };
}

/** The held-out choice's record in the specialists directory (with --holdout). */
export const SELECTION_FILE = 'selection.json';
const SELECTION_RULE =
  'each candidate alone must lower the held-out errors; the rest are added fewest-errors-alone first, each kept only if it lowers the held-out errors of the combination so far';

type Flags = CommonFlags & {
  groupSearch?: GroupSearch;
  strength?: number;
  levels?: number;
  holdout?: number;
  generalist: string;
  out: string;
  groups?: number[];
  runs: number;
  minSize: number;
  maxSize?: number;
  temperature: number;
  alpha: number;
  groupShare: number;
  workers?: number;
  dustbinInit: DustbinInit;
  redis?: string;
};

export function registerSpecialists(program: Command, run: (job: string, args: unknown) => Promise<unknown>): void {
  const cmd = program
    .command('specialists')
    .description("find groups of classes the generalist confuses, train a specialist (group + dustbin) for each, write them with a manifest")
    .requiredOption('--generalist <file.onnx>', 'the generalist (a model saved by dk train or dk distill)')
    .requiredOption('--out <DIR>', 'directory for the specialists and manifest.json')
    .option('--group-search <robust|paper>', `how groups are found: robust (soft confusion rates, average linkage; no k to choose) or paper (k-means on the covariance columns, k from --groups); default ${DEFAULT_GROUP_SEARCH}, or paper when --groups is given`, choice('group-search', GROUP_SEARCHES))
    .option('--strength <f>', `robust search: a merge counts when its classes are predicted together ≥ f × as much as two classes on average (default ${DEFAULT_STRENGTH})`, num('strength', { min: 0, minExclusive: true }))
    .option('--levels <n>', 'robust search: also keep each group\'s strong sub-clusters down to n levels of the hierarchy, so a class is covered by up to n specialists (default 1: disjoint groups)', num('levels', { min: 1, int: true }))
    .option('--holdout <n>', 'hold out n training examples (or a fraction; drawn with --seed), find groups and train on the rest, keep only the specialists that lower the errors on the held-out ones (recorded in selection.json)', holdoutAmount())
    .option('--groups <k[,k…]>', 'paper search: clusters per k-means run (default: round(classes/3)); implies --group-search paper', intList('groups'))
    .option('--runs <n>', 'k-means runs per k (groups from all runs, duplicates dropped)', num('runs', { min: 1, int: true }), SPECIALIST_DEFAULTS.runs)
    .option('--min-size <n>', 'smallest group kept', num('min-size', { min: 1, int: true }), SPECIALIST_DEFAULTS.minSize)
    .option('--max-size <n>', 'largest group kept (default: half the classes)', num('max-size', { min: 1, int: true }))
    .option('--temperature <T>', 'T of the soft outputs for the covariance and of the soft targets', num('temperature', { min: 0, minExclusive: true }), SPECIALIST_DEFAULTS.temperature)
    .option('--alpha <a>', "weight of the generalist's soft targets (default 0: hard labels, as the paper's specialists)", num('alpha', { min: 0, max: 1 }), SPECIALIST_DEFAULTS.alpha)
    .option('--group-share <r>', 'share of each batch drawn from the group', num('group-share', { min: 0, max: 1, minExclusive: true }), SPECIALIST_DEFAULTS.groupShare)
    .option('--workers <n>', 'specialists trained at once, each in a worker thread (default: cores)', num('workers', { min: 1, int: true }))
    .option('--redis <url>', 'train the specialists as jobs on this Redis queue, run by `dk worker --redis URL` processes on any machines (same bytes as a local run; finished ones are kept in <cache-dir>/jobs for a rerun); see README "Several machines"')
    .option('--dustbin-init <mean|fit>', "the dustbin column's start: the mean of the other columns (+log of their count), or fitted to the folded generalist (costs O(examples·classes²))", choice('dustbin-init', DUSTBIN_INITS), 'mean');
  addTrainingFlags(cmd, { epochs: SPECIALIST_DEFAULTS.epochs, lr: SPECIALIST_DEFAULTS.lr });
  cmd.action(async (f: Flags, c: Command) => {
    if (f.batchnorm) throw new UsageError('--batchnorm: a specialist keeps the generalist\'s architecture; BatchNorm cannot be added');
    for (const [k, flag] of [['checkpointDir', 'checkpoint-dir'], ['checkpointEvery', 'checkpoint-every'], ['resume', 'resume']] as const) {
      if (f[k] !== undefined) throw new UsageError(`--${flag}: not supported by dk specialists (each specialist is a short run from the generalist's weights; rerun instead — with --redis, the specialists finished before an interruption are kept and not trained again)`);
    }
    if (f.groupShare >= 1) throw new UsageError(`--group-share: must be < 1, got ${f.groupShare}`);
    if (f.maxSize !== undefined && f.maxSize < f.minSize) throw new UsageError(`--max-size (${f.maxSize}) must be ≥ --min-size (${f.minSize})`);
    if (f.groupSearch === 'robust' && f.groups !== undefined) throw new UsageError('--groups: sets k of the paper\'s k-means; it does not apply to --group-search robust (pass --group-search paper, or drop --groups)');
    if (f.groupSearch === 'paper' && f.strength !== undefined) throw new UsageError('--strength: applies to --group-search robust only');
    const groupSearch: GroupSearch = f.groupSearch ?? (f.groups !== undefined ? 'paper' : DEFAULT_GROUP_SEARCH);
    if (groupSearch === 'paper' && f.strength !== undefined) throw new UsageError('--strength: applies to --group-search robust only (--groups implies paper)');
    if (groupSearch === 'paper' && f.levels !== undefined) throw new UsageError('--levels: applies to --group-search robust only (--groups implies paper; the paper\'s k-means overlaps through --runs and several --groups instead)');
    checkOutDir(f.out, f.force);
    if (f.redis !== undefined) (await import('../../queue/redis.js')).connectionFor(f.redis, 'coordinator'); // the URL, before any work
    const fromCli = (k: string) => c.getOptionValueSource(k) === 'cli';
    const dropout = fromCli('dropout') || fromCli('inputDropout') ? { dropout: fromCli('dropout') ? f.dropout : undefined, inputDropout: fromCli('inputDropout') ? f.inputDropout : undefined } : undefined;
    const args: SpecialistsJobArgs = {
      generalist: f.generalist,
      data: f.data,
      images: imageFlagsFrom(f),
      out: f.out,
      force: f.force,
      temperature: f.temperature,
      groups: f.groups,
      groupSearch,
      strength: f.strength,
      levels: f.levels,
      holdout: f.holdout,
      runs: f.runs,
      minSize: f.minSize,
      maxSize: f.maxSize,
      groupShare: f.groupShare,
      train: trainConfigFrom(f, { alpha: f.alpha, temperature: f.temperature, loss: f.alpha > 0 ? 'soft-ce' : 'hard', checkpoint: undefined }),
      workers: f.workers ?? availableParallelism(),
      threads: f.threads,
      dropout,
      dustbinInit: f.dustbinInit,
      redis: f.redis,
    };
    await checkImageFlagsApply(args.images!, f.data);
    const r = (await run('specialists', args)) as SpecialistsJobResult;
    const w = process.stdout.write.bind(process.stdout);
    w(`group search: ${r.search}\n`);
    w(`groups of confusable classes, with the generalist's confusion counts on the ${r.trainExamples} training examples (${r.generalistTrainErrors} errors in all):\n`);
    for (const line of r.groupLines) w(line + '\n');
    for (const s of r.specialists) {
      w(`${s.file}: group {${s.group.join(',')}} (${(100 * s.groupFraction).toFixed(1)}% of the data), dustbin bias ${s.dustbinBias >= 0 ? '+' : ''}${s.dustbinBias.toFixed(3)}, final loss ${s.loss.toFixed(4)}, train acc ${(100 * s.trainAccuracy).toFixed(2)}%, ${s.seconds.toFixed(1)} s\n`);
    }
    if (r.selection) {
      const sel = r.selection;
      w(`held-out choice on ${sel.n} training examples kept out of training (rule: ${SELECTION_RULE}):\n`);
      for (const v of sel.verdicts) w(`  {${v.group.join(',')}}: ${v.kept ? 'kept' : 'dropped'} — ${v.reason}\n`);
      w(`  held-out errors: generalist ${sel.generalistErrors} → with the ${sel.kept.length} kept specialist(s) ${sel.errors}\n`);
    }
    w(`wrote ${r.out} (${r.specialists.length} specialist(s) + manifest.json${r.selection ? " + selection.json" : ""}); training took ${r.seconds.training.toFixed(1)} s ${f.redis ? 'on the queue' : `with ${r.workers} worker(s)`}\n`);
  });
}
