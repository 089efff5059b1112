/**
 * Library errors in library words, flags in the CLI: a ParamProblem renders with the API's
 * parameter names from the library and with flag names from the CLI (src/cli/flags.ts), every
 * parameter the library names has its flag there, and no library module words an error as a flag.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeForCli, PARAM_FLAGS } from '../../src/cli/flags.js';
import { UsageError } from '../../src/util/errors.js';
import { checkOutDir } from '../../src/specialists/files.js';

/** The repository (this file runs as dist/test/cli/flags.test.js). */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const SRC = join(repoRoot, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const library = sources(SRC).filter((p) => !p.startsWith(join(SRC, 'cli')));

describe('parameter problems: library words, CLI flags', () => {
  it('renders a problem with the parameter names (library) or the flags (CLI), references in the detail included', () => {
    const e = new UsageError({ param: 'outDir', value: 'runs/x', detail: 'directory exists and is not empty; pass {force} to replace it' });
    assert.equal(e.message, 'outDir runs/x: directory exists and is not empty; pass force to replace it');
    assert.equal(describeForCli(e.problem!), '--out runs/x: directory exists and is not empty; pass --force to replace it');
    assert.equal(describeForCli({ param: 'noFlagForThis', detail: 'kept as the API spells it' }), 'noFlagForThis: kept as the API spells it');
  });

  it('a library function throws in its own words', () => {
    assert.throws(
      () => checkOutDir(join(repoRoot, 'no', 'such', 'parent', 'x'), false),
      (e: Error) => e instanceof UsageError && /^outDir \S+: parent directory \S+ does not exist$/.test(e.message),
    );
  });

  it('every parameter the library names has its flag in the CLI table', () => {
    const named = new Set<string>();
    for (const p of library) for (const m of readFileSync(p, 'utf8').matchAll(/\bparam: '([A-Za-z.]+)'/g)) named.add(m[1]);
    assert.ok(named.size >= 5, `found only ${named.size} parameter names: the scan is broken`);
    const missing = [...named].filter((q) => !(q in PARAM_FLAGS));
    assert.deepEqual(missing, [], 'parameters with no flag in src/cli/flags.ts');
  });

  it('no library module words an error message as a flag', () => {
    const flagWorded = /(?:Error|new UsageError)\(\s*[`'"]--[a-z]/;
    const offenders = library.filter((p) => flagWorded.test(readFileSync(p, 'utf8'))).map((p) => p.slice(repoRoot.length + 1));
    assert.deepEqual(offenders, []);
  });
});
