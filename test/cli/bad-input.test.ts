/**
 * Bad input to `dk`: each case must exit with code 2, print one line on stderr that names the
 * offending file or flag, show no stack trace, print nothing on stdout and create no file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { toOnnxBytes } from '../../src/graph/onnx.js';
import { FILES, dk, tempDir, writeMnistSubset, writeRandomIdxDir } from './helpers.js';

const { dir: root, cleanup } = tempDir('dk-cli-bad-');
after(cleanup);

const good = join(root, 'good');
let caseNo = 0;

/** A copy of the good data directory, for corrupting. */
function copyOfGood(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  for (const f of Object.values(FILES)) copyFileSync(join(good, f), join(d, f));
  return d;
}

interface Case {
  args: string[];
  /** Fragments the message must contain (the file or flag it names). */
  names: string[];
  /** Files to create in the working directory first. */
  files?: Record<string, string | Uint8Array>;
}

function expectUsageError(c: Case): void {
  const cwd = join(root, `case-${++caseNo}`);
  mkdirSync(cwd);
  for (const [f, content] of Object.entries(c.files ?? {})) writeFileSync(join(cwd, f), content);
  const before = readdirSync(cwd).sort();
  const r = dk(c.args, cwd);
  const what = `dk ${c.args.join(' ')}\n--- stderr:\n${r.stderr}--- stdout:\n${r.stdout}`;
  assert.equal(r.status, 2, `exit code ${r.status}: ${what}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr is not one line: ${what}`);
  assert.match(lines[0], /^dk: \S/, what);
  for (const n of c.names) assert.ok(lines[0].includes(n), `message does not name ${JSON.stringify(n)}: ${what}`);
  assert.ok(!/\n\s+at .+:\d+:\d+\)?$/m.test(r.stderr) && !/Error:/.test(r.stderr), `stack trace or raw error: ${what}`);
  assert.equal(r.stdout, '', what);
  assert.deepEqual(readdirSync(cwd).sort(), before, `files were created: ${what}`);
  for (const [f, content] of Object.entries(c.files ?? {})) assert.ok(readFileSync(join(cwd, f)).equals(Buffer.from(content)), `${f} was modified`);
}

const train = (...more: string[]) => ['train', '--model', 'mlp:8', '--data', good, '--epochs', '1', '--threads', '1', '--out', 'out.onnx', ...more];

describe('dk: bad input → exit 2, a one-line message naming the culprit, no file', () => {
  before(() => {
    writeMnistSubset(good, 60, 20);
  });

  it('the good directory itself trains (the cases below differ from it in one thing only)', () => {
    const cwd = join(root, 'ok');
    mkdirSync(cwd);
    const r = dk(train(), cwd);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(cwd);
    assert.ok(files.includes('out.onnx'), `no out.onnx: ${files}`);
    assert.ok(files.every((f) => f.startsWith('out.onnx')), `unexpected files: ${files}`); // (a sidecar such as out.onnx.config.json is fine)
  });

  it('--replicas: not a count, or more than 1 for a model with BatchNorm', () => {
    expectUsageError({ args: train('--replicas', '0'), names: ['--replicas', "an integer ≥ 1 or 'auto'"] });
    expectUsageError({ args: train('--replicas', 'two'), names: ['--replicas', "an integer ≥ 1 or 'auto'"] });
    expectUsageError({ args: ['train', '--model', 'resnet:4', '--data', good, '--epochs', '1', '--threads', '1', '--replicas', '2', '--out', 'out.onnx'], names: ['--replicas 2', 'BatchNorm'] });
  });

  it('a malformed IDX file (wrong magic)', () => {
    const d = copyOfGood('bad-magic');
    const f = join(d, FILES.trainImages);
    const b = readFileSync(f);
    b[0] = 0x08;
    b[2] = 0x00;
    writeFileSync(f, b);
    expectUsageError({ args: ['train', '--model', 'mlp:8', '--data', d, '--epochs', '1', '--out', 'out.onnx'], names: [f, 'not an IDX file'] });
  });

  it('a truncated IDX file (data cut short)', () => {
    const d = copyOfGood('truncated');
    const f = join(d, FILES.trainImages);
    truncateSync(f, 16 + 784 * 30 + 5);
    expectUsageError({ args: ['train', '--model', 'mlp:8', '--data', d, '--epochs', '1', '--out', 'out.onnx'], names: [f, 'truncated'] });
  });

  it('a truncated IDX header', () => {
    const d = copyOfGood('truncated-header');
    const f = join(d, FILES.testLabels);
    truncateSync(f, 6);
    expectUsageError({ args: ['eval', '--model', join(root, 'ok', 'out.onnx'), '--data', d], names: [f, 'truncated'] });
  });

  it('a corrupt .gz IDX file', () => {
    const d = join(root, 'bad-gz');
    mkdirSync(d);
    for (const f of [FILES.trainLabels, FILES.testImages, FILES.testLabels]) copyFileSync(join(good, f), join(d, f));
    const f = join(d, `${FILES.trainImages}.gz`);
    writeFileSync(f, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]));
    expectUsageError({ args: ['train', '--model', 'mlp:8', '--data', d, '--epochs', '1', '--out', 'out.onnx'], names: [f, 'gzip'] });
  });

  it('an ONNX file that is not ONNX (dk eval --model garbage.onnx), or missing', () => {
    expectUsageError({ args: ['eval', '--model', 'garbage.onnx', '--data', good], names: ['garbage.onnx', 'not an ONNX model'], files: { 'garbage.onnx': 'this is not a model, just some text\n' } });
    expectUsageError({ args: ['eval', '--model', 'missing.onnx', '--data', good], names: ['missing.onnx'] });
  });

  it('a model file that is truncated, has corrupt metadata, or does not fit the data', () => {
    const model = readFileSync(join(root, 'ok', 'out.onnx'));
    expectUsageError({ args: ['eval', '--model', 'cut.onnx', '--data', good], names: ['cut.onnx'], files: { 'cut.onnx': model.subarray(0, model.length >> 1) } });
    const g = new GraphBuilder('m');
    g.output(g.op('Relu', [g.input('input', 'float32', ['N', 784])]), 'logits');
    g.metadata['dark-knowledge.model'] = '{not json';
    expectUsageError({ args: ['eval', '--model', 'meta.onnx', '--data', good], names: ['meta.onnx', 'metadata'], files: { 'meta.onnx': toOnnxBytes(g.build()) } });
    const small = join(root, 'small-images');
    writeRandomIdxDir(small, { nTrain: 10, nTest: 5, rows: 5, cols: 7, classes: 3, seed: 1 });
    expectUsageError({ args: ['eval', '--model', join(root, 'ok', 'out.onnx'), '--data', small], names: ['--model', '--data', '[1,5,7]'] });
  });

  it('a model spec that does not parse', () => {
    expectUsageError({ args: train('--model', 'foo:3'), names: ["'foo:3'"] });
    expectUsageError({ args: train('--model', 'cnn:32,64:1024:10'), names: ["'cnn:32,64:1024:10'"] });
  });

  it('--batch 0', () => {
    expectUsageError({ args: train('--batch', '0'), names: ['--batch'] });
  });

  it('--lr abc (and a negative one)', () => {
    expectUsageError({ args: train('--lr', 'abc'), names: ['--lr', 'abc'] });
    expectUsageError({ args: train('--lr', '-1'), names: ['--lr'] });
  });

  it('--epochs 0', () => {
    expectUsageError({ args: train('--epochs', '0'), names: ['--epochs'] });
  });

  it('other out-of-range flags name themselves', () => {
    expectUsageError({ args: train('--momentum', '1.5'), names: ['--momentum'] });
    expectUsageError({ args: train('--optimizer', 'rmsprop'), names: ['--optimizer', 'rmsprop'] });
  });

  it('--out onto an existing file without --force', () => {
    expectUsageError({ args: train(), names: ['--out', 'out.onnx', '--force'], files: { 'out.onnx': 'precious\n' } });
  });

  it('a missing data directory', () => {
    expectUsageError({ args: train('--data', 'no-such-dir'), names: ['no-such-dir'] });
    expectUsageError({ args: ['eval', '--model', join(root, 'ok', 'out.onnx'), '--data', 'no-such-dir'], names: ['no-such-dir'] });
  });

  it('an incomplete data directory names the missing file', () => {
    const d = join(root, 'incomplete');
    mkdirSync(d);
    copyFileSync(join(good, FILES.trainImages), join(d, FILES.trainImages));
    expectUsageError({ args: train('--data', d), names: [FILES.testLabels] });
  });
});
