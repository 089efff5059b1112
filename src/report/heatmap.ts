import { fmtProb } from './derive.js';
import { escapeHtml } from './escape.js';

/** Viridis, sampled at 9 stops (perceptually uniform, readable in grey and by most colour-blind readers). */
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

/** Colour at t ∈ [0, 1] on the viridis ramp, as #rrggbb. */
export function viridis(t: number): string {
  const u = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = hex(VIRIDIS[i]);
  const b = hex(VIRIDIS[i + 1]);
  return '#' + a.map((v, k) => Math.round(v + (b[k] - v) * f).toString(16).padStart(2, '0')).join('');
}

/** Ticks for a log colour legend from lo to hi: 1-2-5 steps (1-3 when the range spans many decades), ends included. */
export function legendTicks(lo: number, hi: number): number[] {
  const mult = hi / lo > 1000 ? [1] : hi / lo > 20 ? [1, 3] : [1, 2, 5];
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mult) {
      const v = +(m * 10 ** e).toPrecision(1);
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out.length >= 2 ? out : [lo, hi];
}

/**
 * The class-similarity matrix as an inline SVG heatmap on a log colour scale, with axis labels,
 * a tooltip per cell and a colour legend over the data's range. Each cell is a <rect class="cell">.
 */
export function heatmapSvg(matrix: number[][], classNames: string[], opts: { rowTitle: string; colTitle: string }): string {
  const c = matrix.length;
  const positive = matrix.flat().filter((v) => v > 0);
  // The colour scale spans the data (not whole decades around it), so every step of colour is used.
  const vMin = positive.length ? Math.min(...positive) : 1e-6;
  const vMax = positive.length ? Math.max(...positive) : 1;
  const lo = Math.log10(vMin);
  const hi = Math.max(lo + 0.3, Math.log10(vMax));
  const t = (v: number): number => (v > 0 ? Math.max(0, Math.min(1, (Math.log10(v) - lo) / (hi - lo))) : 0);
  const cell = Math.max(18, Math.min(46, Math.floor(460 / c)));
  const left = 64;
  const top = 30;
  const size = cell * c;
  const legendX = left + size + 28;
  const width = legendX + 70;
  const height = top + size + 52;
  const parts: string[] = [];
  parts.push(
    `<svg class="heatmap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="class-similarity matrix, log colour scale">`,
  );
  parts.push('<defs><linearGradient id="hm-grad" x1="0" y1="1" x2="0" y2="0">');
  for (let k = 0; k <= 16; k++) parts.push(`<stop offset="${(k / 16).toFixed(4)}" stop-color="${viridis(k / 16)}"/>`);
  parts.push('</linearGradient></defs>');
  for (let i = 0; i < c; i++) {
    const y = top + i * cell;
    parts.push(`<text class="hm-label" x="${left - 8}" y="${y + cell / 2}" text-anchor="end" dominant-baseline="central">${escapeHtml(classNames[i] ?? String(i))}</text>`);
    parts.push(`<text class="hm-label" x="${left + i * cell + cell / 2}" y="${top + size + 14}" text-anchor="middle" dominant-baseline="central">${escapeHtml(classNames[i] ?? String(i))}</text>`);
    for (let j = 0; j < c; j++) {
      const v = matrix[i][j];
      const tv = t(v);
      const x = left + j * cell;
      parts.push(
        `<rect class="cell" data-v="${v}" x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" rx="2" fill="${viridis(tv)}"><title>${escapeHtml(
          `${opts.rowTitle} ${classNames[i] ?? i} → ${classNames[j] ?? j}: ${v.toPrecision(3)}`,
        )}</title></rect>`,
      );
      if (cell >= 34) {
        parts.push(
          `<text class="hm-value" x="${x + (cell - 1) / 2}" y="${y + (cell - 1) / 2}" text-anchor="middle" dominant-baseline="central" fill="${tv > 0.62 ? '#1e1b4b' : '#f8fafc'}">${fmtProb(v)}</text>`,
        );
      }
    }
  }
  parts.push(`<text class="hm-title" x="${left + size / 2}" y="${top + size + 36}" text-anchor="middle">${escapeHtml(opts.colTitle)}</text>`);
  parts.push(
    `<text class="hm-title" transform="translate(14 ${top + size / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(opts.rowTitle)}</text>`,
  );
  // Legend: a vertical gradient with one tick per power of ten.
  parts.push(`<rect x="${legendX}" y="${top}" width="14" height="${size}" rx="3" fill="url(#hm-grad)"/>`);
  for (const v of legendTicks(10 ** lo, 10 ** hi)) {
    const y = top + size - ((Math.log10(v) - lo) / (hi - lo)) * size;
    parts.push(`<line x1="${legendX + 14}" x2="${legendX + 19}" y1="${y}" y2="${y}" stroke="#64748b"/>`);
    parts.push(`<text class="hm-label" x="${legendX + 22}" y="${y}" dominant-baseline="central">${fmtProb(v)}</text>`);
  }
  parts.push(`<text class="hm-label" x="${legendX - 4}" y="${top - 12}">probability</text>`);
  parts.push('</svg>');
  return parts.join('');
}
