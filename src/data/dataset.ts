/**
 * In-memory labelled datasets. Images are float32 in [0,1], row-major, one example per row;
 * `shape` is the per-example shape ([D] for vectors, [C,H,W] for images).
 */
export interface Dataset {
  /** n × prod(shape) floats in [0,1]. */
  x: Float32Array;
  /** n labels in [0, classes). */
  y: Int32Array;
  n: number;
  /** Per-example shape, e.g. [1, 28, 28]. */
  shape: number[];
  classes: number;
  /** Where it came from (for messages and cache keys). */
  source: string;
}

export interface DataSplit {
  train: Dataset;
  test: Dataset;
}

export function featureSize(d: Pick<Dataset, 'shape'>): number {
  return d.shape.reduce((a, b) => a * b, 1);
}
