import { createHash } from 'node:crypto';
import type { Dataset } from './dataset.js';

/**
 * SHA-256 (hex) of a dataset's content, for cache keys: the per-example shape, class count and
 * example count, then the bytes of x (float32) and y (int32), little-endian as stored. The
 * source name and ids are not included: the same examples hash the same wherever they came from.
 */
export function datasetHash(ds: Dataset): string {
  const h = createHash('sha256');
  h.update(`dark-knowledge/dataset/v1 shape=[${ds.shape.join(',')}] classes=${ds.classes} n=${ds.n}\n`);
  h.update(new Uint8Array(ds.x.buffer, ds.x.byteOffset, ds.x.byteLength));
  h.update(new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
  return h.digest('hex');
}
