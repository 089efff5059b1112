/**
 * Helper process of the atomic-write kill test (not a test): writes versions first..first+count-1
 * of a large file at argv[2] with writeFileAtomic, printing "wrote <v>" after each. Layout:
 * u32 version, u32 payload length, payload (byte i = (version + ⌊i/4096⌋) mod 251), sha256.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../../src/util/atomic.js';

const [target, firstRaw, countRaw] = process.argv.slice(2);
if (!target) process.exit(0); // (picked up by a test runner's directory scan: nothing to do)
const first = Number(firstRaw);
const count = Number(countRaw);
const N = 24 * 1024 * 1024;
const buf = Buffer.alloc(8 + N + 32);
for (let v = first; v < first + count; v++) {
  buf.writeUInt32LE(v, 0);
  buf.writeUInt32LE(N, 4);
  for (let blk = 0; blk < N; blk += 4096) buf.fill((v + blk / 4096) % 251, 8 + blk, 8 + Math.min(N, blk + 4096));
  createHash('sha256').update(buf.subarray(0, 8 + N)).digest().copy(buf, 8 + N);
  writeFileAtomic(target, buf);
  process.stdout.write(`wrote ${v}\n`);
}
