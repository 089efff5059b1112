/**
 * CSV datasets: one example per line, the label in the first column, then the features
 * (e.g. Kaggle's MNIST `label,pixel0,…,pixel783`). An optional header line (first field not a
 * number) is skipped. Features must be numbers in [0,1], or integers in 0..255 which are
 * scaled by 1/255 (decided once for train and test together so both get the same scaling).
 */
import { UsageError } from '../util/errors.js';
import { readFileBytes } from './files.js';

export interface CsvTable {
  /** Raw feature values, n × d (not yet scaled). */
  features: Float32Array;
  labels: Float64Array;
  n: number;
  d: number;
  /** Largest feature value, and whether every feature is an integer. */
  max: number;
  integral: boolean;
}

/** Parse CSV text (label first) into a table; every error names `name` and the line. */
export function parseCsv(text: string, name: string): CsvTable {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  let first = 0;
  if (lines.length > 0) {
    const f0 = lines[0].split(',')[0].trim();
    if (f0 === '' || Number.isNaN(Number(f0))) first = 1; // a header line
  }
  const n = lines.length - first;
  if (n <= 0) throw new UsageError(`${name}: no data rows, expected lines of 'label,feature1,feature2,…'`);
  const d = lines[first].split(',').length - 1;
  if (d < 1) throw new UsageError(`${name}:${first + 1}: expected 'label,feature1,…' with at least one feature, got 1 column`);
  const features = new Float32Array(n * d);
  const labels = new Float64Array(n);
  let max = -Infinity;
  let integral = true;
  for (let r = 0; r < n; r++) {
    const lineNo = first + r + 1;
    const cells = lines[first + r].split(',');
    if (cells.length !== d + 1) {
      throw new UsageError(`${name}:${lineNo}: ${cells.length} columns, expected ${d + 1} (label + ${d} features) like line ${first + 1}`);
    }
    const lab = cells[0].trim();
    const lv = lab === '' ? NaN : Number(lab);
    if (!Number.isFinite(lv)) throw new UsageError(`${name}:${lineNo}: label '${lab}' is not a number`);
    labels[r] = lv;
    const off = r * d;
    for (let c = 0; c < d; c++) {
      const s = cells[c + 1];
      const v = s.length === 0 ? NaN : Number(s);
      if (!(v >= 0 && v < Infinity)) {
        throw new UsageError(`${name}:${lineNo}: feature ${c + 1} is '${s.trim()}', expected a non-negative number`);
      }
      features[off + c] = v;
      if (v > max) max = v;
      if (integral && v !== Math.floor(v)) integral = false;
    }
  }
  return { features, labels, n, d, max, integral };
}

/** Read and parse a CSV file (gzip detected by magic). */
export function readCsv(path: string): CsvTable {
  const bytes = readFileBytes(path, 'CSV file');
  return parseCsv(new TextDecoder('utf-8').decode(bytes), path);
}

/**
 * Scale tables' features into [0,1] in place, with one rule for all of them: if every value
 * is ≤ 1 they are kept; otherwise all must be integers in 0..255 and are divided by 255.
 */
export function scaleCsvFeatures(tables: { table: CsvTable; name: string }[]): void {
  const max = Math.max(...tables.map((t) => t.table.max));
  if (max <= 1) return;
  for (const { table, name } of tables) {
    if (!table.integral || table.max > 255) {
      throw new UsageError(
        `${name}: features range up to ${table.max}${table.integral ? '' : ' with fractions'}; expected numbers in [0,1] or integers 0..255`,
      );
    }
  }
  const lut = new Float32Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i / 255;
  for (const { table } of tables) {
    const f = table.features;
    for (let i = 0; i < f.length; i++) f[i] = lut[f[i]];
  }
}
