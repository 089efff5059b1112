import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx, type IdxType } from '../../src/data/idx.js';
import { Rng } from '../../src/util/rng.js';
import { randomBytes, tempDir, throwsUsage, writeIdx } from './helpers.js';

const { dir, cleanup } = tempDir('dk-idx-');
after(cleanup);

function sample(type: IdxType, n: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (type) {
      case 'uint8':
        out.push(rng.int(256));
        break;
      case 'int8':
        out.push(rng.int(256) - 128);
        break;
      case 'int16':
        out.push(rng.int(65536) - 32768);
        break;
      case 'int32':
        out.push((rng.nextU32() | 0));
        break;
      case 'float32':
        out.push(Math.fround(rng.normal() * 100));
        break;
      case 'float64':
        out.push(rng.normal() * 1e6);
        break;
    }
  }
  return out;
}

describe('IDX reader', () => {
  const types: IdxType[] = ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64'];
  for (const type of types) {
    for (const gzip of [false, true]) {
      it(`round-trips ${type}${gzip ? ' (gzip)' : ''}`, () => {
        const rng = new Rng(types.indexOf(type) * 2 + (gzip ? 1 : 0) + 1);
        const dims = [3, 4, 5];
        const values = sample(type, 60, rng);
        const p = writeIdx(join(dir, `rt-${type}${gzip ? '.gz' : ''}`), dims, values, type, gzip);
        const a = readIdx(p);
        assert.deepEqual(a.dims, dims);
        assert.equal(a.type, type);
        assert.deepEqual(Array.from(a.data), values);
      });
    }
  }

  it('detects gzip by its magic bytes whatever the file name', () => {
    const rng = new Rng(11);
    const data = randomBytes(24, rng);
    const p = writeIdx(join(dir, 'gz-no-ext'), [2, 3, 4], data, 'uint8', true);
    assert.deepEqual(Array.from(readIdx(p).data), Array.from(data));
  });

  it('reads 1-D and 4-D headers', () => {
    const rng = new Rng(12);
    const d1 = randomBytes(9, rng);
    assert.deepEqual(parseIdx(encodeIdx([9], d1), 'x').dims, [9]);
    const d4 = randomBytes(2 * 3 * 2 * 2, rng);
    const a = parseIdx(encodeIdx([2, 3, 2, 2], d4), 'x');
    assert.deepEqual(a.dims, [2, 3, 2, 2]);
    assert.deepEqual(Array.from(a.data), Array.from(d4));
  });

  describe('malformed files throw a UsageError naming the file', () => {
    const rng = new Rng(13);
    const good = encodeIdx([4, 3, 3], randomBytes(36, rng));
    const write = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };

    it('wrong magic', () => {
      const b = good.slice();
      b[0] = 0x08;
      b[1] = 0x03;
      const p = write('bad-magic', b);
      throwsUsage(() => readIdx(p), p, 'wrong magic', '08 03');
    });
    it('a PNG-like file', () => {
      const p = write('image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      throwsUsage(() => readIdx(p), p, 'not an IDX file');
    });
    it('unknown element type', () => {
      const b = good.slice();
      b[2] = 0x0a;
      const p = write('bad-type', b);
      throwsUsage(() => readIdx(p), p, 'unknown IDX element type 0x0a');
    });
    it('zero dimensions', () => {
      const p = write('zero-dims', new Uint8Array([0, 0, 8, 0, 1, 2]));
      throwsUsage(() => readIdx(p), p, '0 dimensions');
    });
    it('shorter than the magic', () => {
      const p = write('tiny', new Uint8Array([0, 0]));
      throwsUsage(() => readIdx(p), p, 'not an IDX file');
    });
    it('empty file', () => {
      const p = write('empty', new Uint8Array(0));
      throwsUsage(() => readIdx(p), p, '0 bytes');
    });
    it('truncated header', () => {
      const p = write('trunc-header', good.subarray(0, 10));
      throwsUsage(() => readIdx(p), p, 'truncated IDX header', 'need 16', 'has 10');
    });
    it('truncated data (expected vs actual bytes)', () => {
      const p = write('trunc-data', good.subarray(0, good.length - 5));
      throwsUsage(() => readIdx(p), p, 'truncated', `need ${good.length} bytes`, `has ${good.length - 5}`);
    });
    it('extra bytes at the end', () => {
      const b = new Uint8Array(good.length + 3);
      b.set(good);
      const p = write('oversized', b);
      throwsUsage(() => readIdx(p), p, 'oversized', `need ${good.length} bytes`, `has ${good.length + 3}`);
    });
    it('wrong ndims (header says 2-D, data laid out as 3-D)', () => {
      const b = good.slice();
      b[3] = 2;
      const p = write('wrong-ndims', b);
      throwsUsage(() => readIdx(p), p, 'oversized');
    });
    it('truncated multi-byte data', () => {
      const full = encodeIdx([5], [1, 2, 3, 4, 5], 'int32');
      const p = write('trunc-int32', full.subarray(0, full.length - 2));
      throwsUsage(() => readIdx(p), p, 'int32', 'truncated');
    });
    it('truncated gzip stream', () => {
      const gz = gzipSync(good);
      const p = write('trunc.gz', gz.subarray(0, gz.length - 12));
      throwsUsage(() => readIdx(p), p, 'corrupt gzip');
    });
    it('gzip of a truncated IDX file', () => {
      const p = write('trunc-inner.gz', gzipSync(good.subarray(0, good.length - 1)));
      throwsUsage(() => readIdx(p), p, 'truncated');
    });
    it('missing file', () => {
      const p = join(dir, 'does-not-exist');
      throwsUsage(() => readIdx(p), p, 'no such file');
    });
    it('a directory instead of a file', () => {
      const p = join(dir, 'a-directory');
      mkdirSync(p);
      throwsUsage(() => readIdx(p), p, 'directory');
    });
  });
});
