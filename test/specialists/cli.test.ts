/**
 * End to end through the CLI on a small MNIST subset: dk train (tiny generalist) → dk specialists
 * → dk eval --specialists; the manifest validates, the JSON has the Table-4 shape, the
 * generalist's numbers equal plain dk eval, and tampered manifests or files are refused (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdx } from '../../src/data/idx.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { parseManifest, sha256Hex } from '../../src/specialists/manifest.js';
import { readSpecialistsDir } from '../../src/specialists/files.js';

const DK = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function dk(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [DK, '--quiet', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: { code: number; stdout: string; stderr: string }): string {
  assert.equal(r.code, 0, `dk failed: ${r.stderr}`);
  return r.stdout;
}

/** The first nTrain/nTest MNIST examples as an MNIST-style directory. */
function writeSubset(dir: string, nTrain: number, nTest: number): void {
  const { train, test } = loadBuiltinMnist();
  const part = (x: Float32Array, y: Int32Array, n: number, img: string, lab: string) => {
    const px = new Uint8Array(n * 784);
    for (let i = 0; i < px.length; i++) px[i] = Math.round(x[i] * 255);
    writeFileSync(join(dir, img), encodeIdx([n, 28, 28], px));
    writeFileSync(join(dir, lab), encodeIdx([n], Uint8Array.from(y.subarray(0, n))));
  };
  part(train.x, train.y, nTrain, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
  part(test.x, test.y, nTest, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
}

test('dk specialists → dk eval --specialists on a small MNIST subset', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dk-specialists-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const data = join(root, 'data');
  mkdirSync(data);
  writeSubset(data, 3000, 1000);
  const g = join(root, 'g.onnx');
  ok(dk('train', '--model', 'mlp:32', '--epochs', '1', '--data', data, '--threads', '1', '--out', g));

  const out = join(root, 'spec');
  const common = ['--generalist', g, '--data', data, '--groups', '3', '--runs', '1', '--max-size', '9', '--epochs', '1', '--threads', '2'];
  const text = ok(dk('specialists', ...common, '--workers', '2', '--out', out));
  assert.match(text, /group 1: \{[\d, ]+\}\s+within-group confusions \d+/);
  assert.match(text, /true\\pred/);

  // The manifest validates and matches the generalist and the files.
  const manifest = parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const gBytes = readFileSync(g);
  assert.equal(manifest.classes, 10);
  assert.equal(manifest.generalist.sha256, sha256Hex(gBytes));
  assert.ok(manifest.specialists.length >= 1 && manifest.specialists.length <= 3);
  const dir = readSpecialistsDir(out, { bytes: gBytes, classes: 10 });
  assert.equal(dir.files.length, manifest.specialists.length);
  assert.deepEqual(readdirSync(out).sort(), ['manifest.json', ...manifest.specialists.map((s) => s.file)].sort());
  for (const s of manifest.specialists) assert.ok(Number.isFinite(s.dustbinBias) && s.epochs === 1);

  // A non-empty output directory is not overwritten without --force.
  const again = dk('specialists', ...common, '--workers', '1', '--out', out);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /not empty; pass --force/);

  // dk eval --specialists --json: the Table-4 shape; generalist numbers = plain dk eval.
  const plain = JSON.parse(ok(dk('eval', '--model', g, '--data', data, '--threads', '1', '--json')));
  const res = JSON.parse(ok(dk('eval', '--model', g, '--specialists', out, '--data', data, '--threads', '1', '--json')));
  assert.deepEqual(Object.keys(res), ['generalist', 'combined', 'coverage']);
  assert.deepEqual(res.generalist, { errors: plain.errors, accuracy: plain.accuracy });
  assert.deepEqual(Object.keys(res.combined), ['errors', 'accuracy']);
  assert.ok(res.combined.errors >= 0 && res.combined.errors <= 1000);
  assert.ok(Array.isArray(res.coverage) && res.coverage.length >= 1);
  let examples = 0;
  let delta = 0;
  for (const row of res.coverage) {
    assert.deepEqual(Object.keys(row), ['covering', 'examples', 'deltaCorrect', 'relativeChange']);
    examples += row.examples;
    delta += row.deltaCorrect;
  }
  assert.equal(examples, 1000);
  assert.equal(delta, res.generalist.errors - res.combined.errors);
  const top1 = JSON.parse(ok(dk('eval', '--model', g, '--specialists', out, '--top-n', '1', '--data', data, '--threads', '1', '--json')));
  assert.deepEqual(top1.generalist, res.generalist);

  // Tampered copies are refused with exit 2 and a message naming both values.
  const tamper = (name: string, edit: (m: Record<string, any>) => void, file?: (dir: string) => void) => {
    const d = join(root, name);
    mkdirSync(d);
    for (const f of readdirSync(out)) copyFileSync(join(out, f), join(d, f));
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
    edit(m);
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    file?.(d);
    return dk('eval', '--model', g, '--specialists', d, '--data', data, '--threads', '1', '--json');
  };
  const wrongClasses = tamper('classes', (m) => {
    m.classes = 11;
    for (const s of m.specialists) s.classMap = [...s.classMap, s.group.length];
  });
  assert.equal(wrongClasses.code, 2, wrongClasses.stderr);
  assert.match(wrongClasses.stderr, /11 classes.*10 classes/);
  const other = 'a'.repeat(64);
  const wrongGen = tamper('generalist', (m) => (m.generalist.sha256 = other));
  assert.equal(wrongGen.code, 2);
  assert.ok(wrongGen.stderr.includes(other) && wrongGen.stderr.includes(sha256Hex(gBytes)), wrongGen.stderr);
  const wrongHash = tamper('hash', (m) => (m.specialists[0].sha256 = other));
  assert.equal(wrongHash.code, 2);
  assert.ok(wrongHash.stderr.includes(other) && wrongHash.stderr.includes(manifest.specialists[0].sha256), wrongHash.stderr);
  const changedFile = tamper('file', () => {}, (d) => {
    const p = join(d, manifest.specialists[0].file);
    const b = readFileSync(p);
    b[b.length - 1] ^= 1;
    writeFileSync(p, b);
  });
  assert.equal(changedFile.code, 2);
  assert.match(changedFile.stderr, /sha256 [0-9a-f]{64}, but the manifest lists [0-9a-f]{64}/);
});

test('dk specialists and dk eval --specialists refuse bad calls with exit 2', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dk-specialists-bad-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--checkpoint-dir', root], /--checkpoint-dir: not supported/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--batchnorm'], /--batchnorm/],
    [['specialists', '--generalist', 'g.onnx', '--out', file], /is a file, expected a directory/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--min-size', '4', '--max-size', '3'], /--max-size \(3\) must be ≥ --min-size \(4\)/],
    [['specialists', '--generalist', join(root, 'missing.onnx'), '--out', join(root, 'o')], /--generalist .*cannot read/],
    [['eval', '--model', 'g.onnx', '--top-n', '2'], /--top-n: only applies with --specialists/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--group-search', 'robust', '--groups', '3'], /--groups: .*does not apply to --group-search robust/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--groups', '3', '--strength', '2'], /--strength: applies to --group-search robust only/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--group-search', 'kmeans'], /--group-search/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--strength', '0'], /--strength/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--groups', '3', '--levels', '2'], /--levels: applies to --group-search robust only/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--levels', '0'], /--levels: must be ≥ 1/],
    [['specialists', '--generalist', 'g.onnx', '--out', join(root, 'o'), '--holdout', '-3'], /--holdout: expected a count ≥ 1 or a fraction/],
    [['eval', '--model', file, '--specialists', root], /\.onnx|dark-knowledge|a-file/],
  ];
  for (const [args, re] of cases) {
    const r = dk(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('dk specialists --holdout: default (robust) search, the held-out choice recorded in selection.json', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dk-specialists-holdout-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const data = join(root, 'data');
  mkdirSync(data);
  writeSubset(data, 3000, 500);
  const g = join(root, 'g.onnx');
  ok(dk('train', '--model', 'mlp:32', '--epochs', '3', '--data', data, '--threads', '1', '--out', g));
  const out = join(root, 'spec');
  const r = dk('specialists', '--generalist', g, '--data', data, '--holdout', '1000', '--strength', '1.3', '--epochs', '1', '--threads', '2', '--workers', '2', '--out', out);
  if (r.code === 2) {
    // No candidate lowered the held-out errors: said so, nothing written.
    assert.match(r.stderr, /no specialist lowered the errors on the 1000 held-out examples/);
    assert.ok(!readdirSync(root).includes('spec'));
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /group search: robust/);
  assert.match(r.stdout, /held-out choice on 1000 training examples/);
  const manifest = parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const sel = JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8'));
  assert.equal(sel.n, 1000);
  assert.ok(sel.errors < sel.generalistErrors);
  assert.equal(sel.kept.length, manifest.specialists.length);
  assert.deepEqual(sel.kept.map((i: number) => sel.verdicts[i].group), manifest.specialists.map((s) => s.group));
  for (const v of sel.verdicts) if (v.kept) assert.ok(v.errorsAlone < sel.generalistErrors, JSON.stringify(v));
  assert.deepEqual(readdirSync(out).sort(), ['manifest.json', 'selection.json', ...manifest.specialists.map((s) => s.file)].sort());
});
