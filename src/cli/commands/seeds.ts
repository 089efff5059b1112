/** `dk seeds`: summarise runs of dk paper from different seeds into DIR/seeds.json and DIR/seeds.html. */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/atomic.js';
import { UsageError } from '../../util/errors.js';
import { readResultsFile } from './report.js';

export interface SeedsArgs {
  results: string[];
  out: string;
  force?: boolean;
}

export interface SeedsWritten {
  json: string;
  html: string;
  seeds: number[];
  /** The distilled and hard students' mean test errors, for the command's one-line summary. */
  distilledMean: number;
  hardMean: number;
}

/** Read and check every file, summarise, render, then write both outputs; nothing is written when any step fails. */
export async function writeSeedsSummary(a: SeedsArgs): Promise<SeedsWritten> {
  if (a.results.length < 2) throw new UsageError(`--results: give at least two results.json files (runs of one profile from different seeds), got ${a.results.length}`);
  const dir = resolve(a.out);
  const json = join(dir, 'seeds.json');
  const html = join(dir, 'seeds.html');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${a.out}: exists and is not a directory`);
  for (const f of [json, html]) {
    if (existsSync(f) && !a.force) throw new UsageError(`--out ${a.out}: ${f} already exists; pass --force to replace it`);
  }
  const runs = [];
  for (const file of a.results) runs.push({ source: file, results: await readResultsFile(`--results ${file}`, file) });
  const [{ summariseSeeds }, { renderSeedsReport }] = await Promise.all([import('../../report/seeds.js'), import('../../report/seeds-html.js')]);
  let summary;
  try {
    summary = summariseSeeds(runs);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--results: ${e.message}`);
    throw e;
  }
  // Each run's report.html (where dk paper wrote one beside its results.json), in the summary's seed order.
  const reportOf = summary.sources.map((src) => {
    const p = join(dirname(resolve(src)), 'report.html');
    return existsSync(p) ? p : undefined;
  });
  const href = (from: string, to: string): string => relative(from, to).split('\\').join('/');
  const page = renderSeedsReport(
    summary,
    runs.map((r) => r.results),
    reportOf.map((p) => (p ? href(dir, p) : undefined)),
  );
  const { renderReport } = await import('../../report/html.js');
  const bySource = new Map(runs.map((r) => [r.source, r.results]));
  // The seeds' own reports again, now linking to the summary and to each other.
  const reRendered = reportOf.flatMap((p, i) => {
    if (!p) return [];
    const links = [
      { label: 'all seeds', href: href(dirname(p), html) },
      ...reportOf.flatMap((q, j) => (q && j !== i ? [{ label: `seed ${summary.seeds[j]}`, href: href(dirname(p), q) }] : [])),
    ];
    return [{ path: p, text: renderReport(bySource.get(summary.sources[i])!, { links }) }];
  });
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(json, JSON.stringify(summary, null, 2) + '\n');
  writeFileAtomic(html, page);
  for (const r of reRendered) writeFileAtomic(r.path, r.text);
  const mean = (label: string): number => summary.metrics.find((m) => m.label === label)?.mean ?? NaN;
  return { json, html, seeds: summary.seeds, distilledMean: mean('Student, distilled'), hardMean: mean('Student, hard labels') };
}

/** What dk seeds and dk paper --seeds print when the summary is written. */
export function seedsSummaryText(w: SeedsWritten): string {
  return `${w.seeds.length} seeds (${w.seeds.join(', ')}): hard student ${w.hardMean.toFixed(1)}, distilled student ${w.distilledMean.toFixed(1)} mean test errors\nsummary: ${w.json}\nreport: ${w.html}\n`;
}

export function registerSeeds(program: Command): void {
  program
    .command('seeds')
    .description('summarise runs of dk paper that differ only in --seed: every headline number per seed, its mean, sd and range; writes DIR/seeds.json and DIR/seeds.html')
    .requiredOption('--results <files...>', 'two or more results.json files of one profile, each from its own seed')
    .option('--out <dir>', 'output directory', 'runs/seeds')
    .option('--force', 'replace an existing summary in DIR', false)
    .action(async (f: { results: string[]; out: string; force: boolean }) => {
      const w = await writeSeedsSummary(f);
      process.stdout.write(seedsSummaryText(w));
    });
}
