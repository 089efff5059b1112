import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseCsv } from '../../src/data/csv.js';
import { loadData } from '../../src/data/load.js';
import { encodeNpy, parseNpy, readNpy } from '../../src/data/npy.js';
import { Rng } from '../../src/util/rng.js';
import { randomBytes, tempDir, throwsUsage } from './helpers.js';

const root = tempDir('dk-npycsv-');
after(root.cleanup);
let count = 0;
const fresh = () => {
  const d = join(root.dir, `d${count++}`);
  mkdirSync(d);
  return d;
};

function npyHeader(dict: string, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let h = dict;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, h.length, true);
  else v.setUint32(8, h.length, true);
  out.set(new TextEncoder().encode(h), pre);
  return out;
}
const concat = (a: Uint8Array, b: Uint8Array) => {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
};

describe('NPY reader', () => {
  it('round-trips float32, float64, uint8 and int64', () => {
    const rng = new Rng(1);
    const f32 = Float32Array.from({ length: 24 }, () => rng.normal());
    const f64 = Float64Array.from({ length: 6 }, () => rng.normal());
    const u8 = randomBytes(12, rng);
    const i64 = BigInt64Array.from([3n, 0n, 9n]);
    assert.deepEqual(parseNpy(encodeNpy([2, 3, 4], f32), 'a').data, f32);
    assert.deepEqual(parseNpy(encodeNpy([2, 3, 4], f32), 'a').shape, [2, 3, 4]);
    assert.deepEqual(parseNpy(encodeNpy([6], f64), 'a').data, f64);
    assert.deepEqual(parseNpy(encodeNpy([3, 4], u8), 'a').data, u8);
    assert.deepEqual(parseNpy(encodeNpy([3], i64), 'a').data, i64);
  });

  it('reads version 2 headers and big-endian data', () => {
    const rng = new Rng(2);
    const vals = Array.from({ length: 5 }, () => Math.fround(rng.normal()));
    const body = new Uint8Array(20);
    const dv = new DataView(body.buffer);
    vals.forEach((v, i) => dv.setFloat32(4 * i, v, false));
    const bytes = concat(npyHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (5,), }", 2), body);
    assert.deepEqual(Array.from(parseNpy(bytes, 'be').data as Float32Array), vals);
  });

  it('reads .npy.gz', () => {
    const dir = fresh();
    const f = Float32Array.from([0.25, 0.5]);
    const p = join(dir, 'a.npy.gz');
    writeFileSync(p, gzipSync(encodeNpy([2], f)));
    assert.deepEqual(readNpy(p).data, f);
  });

  describe('malformed files throw a UsageError naming the file', () => {
    const dir = fresh();
    const w = (name: string, b: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, b);
      return p;
    };
    const good = encodeNpy([2, 3], Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    it('wrong magic', () => {
      const p = w('x.npy', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
      throwsUsage(() => readNpy(p), p, 'not an NPY file');
    });
    it('truncated data', () => {
      const p = w('t.npy', good.subarray(0, good.length - 4));
      throwsUsage(() => readNpy(p), p, 'truncated', `needs ${good.length}`);
    });
    it('extra bytes', () => {
      const p = w('o.npy', concat(good, new Uint8Array(8)));
      throwsUsage(() => readNpy(p), p, 'oversized');
    });
    it('truncated header', () => {
      const p = w('h.npy', good.subarray(0, 30));
      throwsUsage(() => readNpy(p), p, 'truncated NPY header');
    });
    it('Fortran order', () => {
      const p = w('f.npy', concat(npyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"), new Uint8Array(4)));
      throwsUsage(() => readNpy(p), p, 'Fortran');
    });
    it('unsupported dtype', () => {
      const p = w('c.npy', concat(npyHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), new Uint8Array(8)));
      throwsUsage(() => readNpy(p), p, "dtype '<c8'");
    });
    it('object dtype / garbage header', () => {
      const p = w('g.npy', concat(npyHeader('{hello}'), new Uint8Array(0)));
      throwsUsage(() => readNpy(p), p, 'malformed NPY header');
    });
    it('unsupported version', () => {
      const b = good.slice();
      b[6] = 9;
      const p = w('v.npy', b);
      throwsUsage(() => readNpy(p), p, 'version 9');
    });
  });
});

describe('NPY and CSV directories via loadData', () => {
  it('loads an NPY directory (uint8 [n,H,W] images, int64 labels)', () => {
    const dir = fresh();
    const rng = new Rng(3);
    const xtr = randomBytes(6 * 4 * 3, rng);
    const xte = randomBytes(2 * 4 * 3, rng);
    writeFileSync(join(dir, 'x_train.npy'), encodeNpy([6, 4, 3], xtr));
    writeFileSync(join(dir, 'y_train.npy'), encodeNpy([6], BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 1n])));
    writeFileSync(join(dir, 'x_test.npy.gz'), gzipSync(encodeNpy([2, 4, 3], xte)));
    writeFileSync(join(dir, 'y_test.npy'), encodeNpy([2, 1], Int32Array.from([4, 0])));
    const { train, test } = loadData(dir);
    assert.deepEqual(train.shape, [1, 4, 3]);
    assert.equal(train.classes, 5);
    assert.deepEqual(Array.from(test.y), [4, 0]);
    assert.equal(train.x[5], Math.fround(xtr[5] / 255));
    assert.equal(test.x[7], Math.fround(xte[7] / 255));
  });

  it('NPY directory errors name the file', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'x_train.npy'), encodeNpy([2, 2], Float32Array.from([0.1, 0.2, 0.3, 0.4])));
    writeFileSync(join(dir, 'y_train.npy'), encodeNpy([3], Int32Array.from([0, 1, 1])));
    throwsUsage(() => loadData(dir), 'incomplete data directory', 'x_test.npy', 'y_test.npy');
    writeFileSync(join(dir, 'x_test.npy'), encodeNpy([1, 2], Float32Array.from([0.5, 2])));
    writeFileSync(join(dir, 'y_test.npy'), encodeNpy([1], Int32Array.from([1])));
    throwsUsage(() => loadData(dir), join(dir, 'y_train.npy'), '3 labels', '2 examples');
    writeFileSync(join(dir, 'y_train.npy'), encodeNpy([2], Int32Array.from([0, 1])));
    throwsUsage(() => loadData(dir), join(dir, 'x_test.npy'), 'pixel value 2');
  });

  it('loads a CSV directory with a header, 0..255 integers scaled by 1/255', () => {
    const dir = fresh();
    const rng = new Rng(4);
    const rows = (n: number) =>
      Array.from({ length: n }, () => [rng.int(3), ...Array.from({ length: 4 }, () => rng.int(256))]);
    const tr = rows(7);
    const te = rows(3);
    tr[0][1] = 255;
    writeFileSync(join(dir, 'train.csv'), 'label,p0,p1,p2,p3\n' + tr.map((r) => r.join(',')).join('\n') + '\n');
    writeFileSync(join(dir, 'test.csv.gz'), gzipSync(te.map((r) => r.join(',')).join('\r\n')));
    const { train, test } = loadData(dir, { shape: [1, 2, 2] });
    assert.equal(train.n, 7);
    assert.equal(test.n, 3);
    assert.deepEqual(train.shape, [1, 2, 2]);
    assert.deepEqual(Array.from(train.y), tr.map((r) => r[0]));
    assert.equal(train.x[0], 1);
    assert.equal(test.x[2], Math.fround(te[0][3] / 255));
  });

  it('keeps CSV features already in [0,1]', () => {
    const t = parseCsv('1,0.5,0.25\n0,1,0\n', 'x.csv');
    assert.equal(t.n, 2);
    assert.equal(t.d, 2);
    assert.deepEqual(Array.from(t.features), [0.5, 0.25, 1, 0]);
  });

  describe('malformed CSV throws a UsageError naming the file and line', () => {
    it('ragged row', () => throwsUsage(() => parseCsv('1,0,0\n2,0\n', 'r.csv'), 'r.csv:2', '2 columns', 'expected 3'));
    it('non-numeric feature', () => throwsUsage(() => parseCsv('1,0,abc\n', 'n.csv'), 'n.csv:1', "'abc'"));
    it('negative feature', () => throwsUsage(() => parseCsv('1,0,-3\n', 'n.csv'), 'n.csv:1', "'-3'"));
    it('empty file', () => throwsUsage(() => parseCsv('', 'e.csv'), 'e.csv', 'no data rows'));
    it('label only', () => throwsUsage(() => parseCsv('1\n2\n', 'l.csv'), 'l.csv:1', 'at least one feature'));
    it('fractional features above 1', () => {
      const dir = fresh();
      writeFileSync(join(dir, 'train.csv'), '0,0.5,2.5\n1,1,1\n');
      writeFileSync(join(dir, 'test.csv'), '0,0,1\n');
      throwsUsage(() => loadData(dir), join(dir, 'train.csv'), 'up to 2.5 with fractions');
    });
    it('fractional label', () => {
      const dir = fresh();
      writeFileSync(join(dir, 'train.csv'), '0.5,1,1\n');
      writeFileSync(join(dir, 'test.csv'), '0,0,1\n');
      throwsUsage(() => loadData(dir), join(dir, 'train.csv'), 'label 0.5');
    });
    it('feature count differs between train and test', () => {
      const dir = fresh();
      writeFileSync(join(dir, 'train.csv'), '0,1,1\n1,0,0\n');
      writeFileSync(join(dir, 'test.csv'), '0,0,1,1\n');
      throwsUsage(() => loadData(dir), join(dir, 'test.csv'), '3 features', '2');
    });
  });
});
