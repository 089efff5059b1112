import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/util/errors.js';
import {
  type SpecialistsManifest,
  checkManifestMatchesGeneralist,
  checkSpecialistFile,
  parseManifest,
  sha256Hex,
  specialistEntry,
  validateManifest,
} from '../../src/specialists/index.js';

const GEN = sha256Hex('generalist bytes');
const S0 = sha256Hex('specialist 0');
const S1 = sha256Hex('specialist 1');

function manifest(): SpecialistsManifest {
  return {
    version: 1,
    generalist: { file: 'g.onnx', sha256: GEN },
    classes: 10,
    temperature: 2,
    groups: [
      [3, 5, 8],
      [4, 9],
    ],
    specialists: [
      specialistEntry({ file: 'specialist-0.onnx', sha256: S0, group: [8, 3, 5], classes: 10, oversamplingFactor: 4, epochs: 5, seed: 1 }),
      specialistEntry({ file: 'specialist-1.onnx', sha256: S1, group: [4, 9], classes: 10, oversamplingFactor: 2.5, epochs: 5, seed: 2 }),
    ],
  };
}

function rejects(m: unknown, re: RegExp) {
  assert.throws(
    () => validateManifest(m, 'out/manifest.json'),
    (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.startsWith('out/manifest.json'),
  );
}

test('sha256Hex of a known vector', () => {
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('specialistEntry computes the class map and the dustbin bias', () => {
  const e = specialistEntry({ file: 'a.onnx', sha256: S0, group: [8, 3, 5], classes: 10, oversamplingFactor: 4, epochs: 1, seed: 0 });
  assert.deepEqual(e.group, [3, 5, 8]);
  assert.deepEqual(e.classMap, [3, 3, 3, 0, 3, 1, 3, 3, 2, 3]);
  assert.equal(e.dustbinBias, Math.log(4));
});

test('a valid manifest passes and survives a JSON round trip', () => {
  const m = manifest();
  assert.deepEqual(validateManifest(m), m);
  assert.deepEqual(parseManifest(JSON.stringify(m, null, 2)), m);
  checkManifestMatchesGeneralist(m, { classes: 10, sha256: GEN });
  checkManifestMatchesGeneralist(m, { classes: 10, sha256: GEN.toUpperCase() });
  checkSpecialistFile(m.specialists[0], S0);
});

test('a manifest for another generalist is refused, naming both values', () => {
  const m = manifest();
  assert.throws(
    () => checkManifestMatchesGeneralist(m, { classes: 12, sha256: GEN, name: 'g2.onnx' }),
    (e: unknown) => e instanceof UsageError && /10 classes/.test(e.message) && /g2\.onnx has 12 classes/.test(e.message),
  );
  const other = sha256Hex('another generalist');
  assert.throws(
    () => checkManifestMatchesGeneralist(m, { classes: 10, sha256: other, name: 'g2.onnx' }),
    (e: unknown) => e instanceof UsageError && e.message.includes(GEN) && e.message.includes(other) && e.message.includes('g2.onnx'),
  );
  assert.throws(
    () => checkSpecialistFile(m.specialists[1], S0),
    (e: unknown) => e instanceof UsageError && e.message.includes(S0) && e.message.includes(S1) && e.message.includes('specialist-1.onnx'),
  );
});

test('malformed manifests are refused with the field named', () => {
  const edit = (f: (m: any) => void) => {
    const m: any = structuredClone(manifest());
    f(m);
    return m;
  };
  rejects(null, /must be a JSON object/);
  rejects(edit((m) => (m.version = 2)), /version must be 1/);
  rejects(edit((m) => delete m.temperature), /missing "temperature"/);
  rejects(edit((m) => (m.extra = 1)), /unknown key "extra"/);
  rejects(edit((m) => (m.generalist.sha256 = 'abc')), /generalist.sha256 must be a SHA-256/);
  rejects(edit((m) => (m.classes = 1)), /classes must be an integer in \[2, ∞\]/);
  rejects(edit((m) => (m.temperature = 0)), /temperature must be a number > 0/);
  rejects(edit((m) => m.groups.push([4, 9])), /groups\[2\] repeats the group \[4,9\]/);
  rejects(edit((m) => (m.groups[0] = [5, 3])), /groups\[0\] must be strictly ascending/);
  rejects(edit((m) => (m.groups[0] = [3, 10])), /groups\[0\]\[1\] must be an integer in \[0, 9\]/);
  rejects(edit((m) => (m.specialists[0].file = '../x.onnx')), /specialists\[0\].file must be a plain file name/);
  rejects(edit((m) => (m.specialists[1].file = 'specialist-0.onnx')), /specialists\[1\].file repeats/);
  rejects(edit((m) => (m.specialists[1].group = [4, 7])), /specialists\[1\].group \[4, 7\] is not one of the manifest's groups/);
  rejects(edit((m) => (m.specialists[0].classMap[3] = 1)), /specialists\[0\].classMap must list/);
  rejects(edit((m) => (m.specialists[0].dustbinBias = null)), /dustbinBias must be a finite number/);
  rejects(edit((m) => (m.specialists[0].oversamplingFactor = -1)), /oversamplingFactor must be a number > 0/);
  rejects(edit((m) => (m.specialists[0].epochs = 1.5)), /epochs must be an integer/);
  assert.throws(() => parseManifest('{', 'm.json'), (e: unknown) => e instanceof UsageError && /m.json: not valid JSON/.test(e.message));
});
