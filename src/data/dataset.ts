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
  /** Class names, label k named classNames[k] (image folders: the class sub-folder names). */
  classNames?: string[];
  /** Where it came from (for messages and cache keys). */
  source: string;
  /**
   * Optional: for a subset, each row's index in the dataset it was loaded as (so targets
   * cached for the full set stay aligned). Absent means row i is example i.
   */
  ids?: Int32Array;
}

export interface DataSplit {
  train: Dataset;
  test: Dataset;
}

export function featureSize(d: Pick<Dataset, 'shape'>): number {
  return d.shape.reduce((a, b) => a * b, 1);
}

/** Each row's example id in the loaded dataset (`ds.ids`, or 0..n-1 when absent). */
export function exampleIds(d: Pick<Dataset, 'n' | 'ids'>): Int32Array {
  if (d.ids) return d.ids;
  const ids = new Int32Array(d.n);
  for (let i = 0; i < d.n; i++) ids[i] = i;
  return ids;
}
