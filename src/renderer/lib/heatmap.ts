// Draws rounds × layers heatmaps onto a canvas. When there are more rounds than pixel columns,
// rounds are binned (each column shows the mean of its rounds), so the cost is O(rounds × layers)
// for the binning plus O(columns × layers) pixels, whatever the reply's length.
import type { Lut } from './colors';

export interface HeatmapLayout {
  /** CSS pixels */
  width: number;
  height: number;
  /** plot rectangle inside the canvas, CSS pixels */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface HeatmapData {
  /** (n, L) row-major: values[r * L + l] */
  values: Uint8Array | Float32Array;
  nLayer: number;
  /** how many rounds to show (the replay cursor may show fewer than are loaded) */
  n: number;
  /** value → [0, 1] before the LUT; NaN stays empty */
  lo: number;
  hi: number;
  lut: Lut;
  /** colour for cells without a value (before the first DP) */
  empty: [number, number, number, number];
  /**
   * cosine → "nines": -log10(1 − cos) before lo/hi, so 0.9, 0.99 and 0.999 are evenly apart and a
   * layer's small change stays visible next to a large one
   */
  log?: boolean;
}

/** The log scale's transform (see HeatmapData.log): 0 for cos ≤ 0, 1 for 0.9, 2 for 0.99, … capped at 6. */
export function nines(cos: number): number {
  return Math.min(6, -Math.log10(Math.max(1e-6, 1 - Math.max(0, cos))));
}

/** The plot inside the canvas: room on the left for layer numbers and the "layer" title, below for rounds and "round". */
export function plotRect(width: number, height: number): HeatmapLayout {
  return { width, height, left: 40, top: 8, right: width - 6, bottom: height - 30 };
}

let scratch: { canvas: OffscreenCanvas | HTMLCanvasElement; ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D } | null = null;

function scratchCanvas(w: number, h: number) {
  if (!scratch) {
    const c = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : document.createElement('canvas');
    const ctx = c.getContext('2d') as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;
    scratch = { canvas: c, ctx };
  }
  if (scratch.canvas.width < w) scratch.canvas.width = w;
  if (scratch.canvas.height < h) scratch.canvas.height = h;
  return scratch;
}

/**
 * Bins rounds into at most `maxCols` columns and maps each cell through the LUT. Returns the
 * pixels (cols × L, layer 0 on the top row) and the column count.
 */
export function binHeatmap(d: HeatmapData, maxCols: number): { pixels: Uint8ClampedArray; cols: number } {
  const L = d.nLayer;
  const n = d.n;
  const cols = Math.max(1, Math.min(n, Math.floor(maxCols)));
  const pixels = new Uint8ClampedArray(cols * L * 4);
  const sums = new Float64Array(L);
  const counts = new Uint32Array(L);
  const span = d.hi - d.lo || 1;
  const vals = d.values;
  for (let c = 0; c < cols; c++) {
    const r0 = Math.floor((c * n) / cols);
    const r1 = Math.max(r0 + 1, Math.floor(((c + 1) * n) / cols));
    sums.fill(0);
    counts.fill(0);
    for (let r = r0; r < r1; r++) {
      const base = r * L;
      for (let l = 0; l < L; l++) {
        const v = vals[base + l];
        if (v === v) {
          // not NaN
          sums[l] += v;
          counts[l]++;
        }
      }
    }
    for (let l = 0; l < L; l++) {
      const o = (l * cols + c) * 4;
      if (counts[l] === 0) {
        pixels[o] = d.empty[0];
        pixels[o + 1] = d.empty[1];
        pixels[o + 2] = d.empty[2];
        pixels[o + 3] = d.empty[3];
        continue;
      }
      const mean = sums[l] / counts[l];
      let t = ((d.log ? nines(mean) : mean) - d.lo) / span;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const k = ((t * 255 + 0.5) | 0) * 4;
      pixels[o] = d.lut[k];
      pixels[o + 1] = d.lut[k + 1];
      pixels[o + 2] = d.lut[k + 2];
      pixels[o + 3] = 255;
    }
  }
  return { pixels, cols };
}

/** Draws the heatmap cells into the plot rectangle of a context already scaled to CSS pixels. */
export function drawHeatmapCells(ctx: CanvasRenderingContext2D, layout: HeatmapLayout, d: HeatmapData, dpr: number): void {
  const plotW = layout.right - layout.left;
  const plotH = layout.bottom - layout.top;
  if (d.n <= 0 || plotW <= 0 || plotH <= 0) return;
  const { pixels, cols } = binHeatmap(d, plotW * dpr);
  const s = scratchCanvas(cols, d.nLayer);
  const img = new ImageData(pixels as unknown as Uint8ClampedArray<ArrayBuffer>, cols, d.nLayer);
  s.ctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(s.canvas as CanvasImageSource, 0, 0, cols, d.nLayer, layout.left, layout.top, plotW, plotH);
}

export interface AxisStyle {
  text: string;
  grid: string;
  font: string;
}

/** Layer labels on the left, round ticks below, and both axis titles; ticks are whole numbers at even steps. */
export function drawAxes(ctx: CanvasRenderingContext2D, layout: HeatmapLayout, nLayer: number, n: number, style: AxisStyle): void {
  ctx.fillStyle = style.text;
  ctx.font = style.font;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const plotH = layout.bottom - layout.top;
  const rowH = plotH / nLayer;
  const step = layerStep(nLayer);
  for (let l = 0; l < nLayer; l += step) ctx.fillText(String(l), layout.left - 4, layout.top + (l + 0.5) * rowH);
  ctx.save();
  ctx.translate(9, (layout.top + layout.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('layer', 0, 0);
  ctx.restore();
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const plotW = layout.right - layout.left;
  const ticks = niceTicks(n, Math.max(2, Math.floor(plotW / 70)));
  for (const t of ticks) {
    const x = layout.left + ((t + 0.5) / Math.max(1, n)) * plotW;
    ctx.fillText(String(t), Math.min(layout.right - 8, Math.max(layout.left + 8, x)), layout.bottom + 4);
  }
  ctx.fillText('verify round', (layout.left + layout.right) / 2, layout.bottom + 16);
}

/** Layer ticks: every layer up to 8, then steps of 2, 4, … so labels never crowd (always whole, even steps). */
export function layerStep(nLayer: number): number {
  return nLayer <= 8 ? 1 : nLayer <= 16 ? 2 : nLayer <= 40 ? 4 : 2 * Math.ceil(nLayer / 20);
}

/** How often each layer was skipped in the first n rounds: counts per layer (skip is n × L, 0/1). */
export function skipCounts(skip: Uint8Array, nLayer: number, n: number): Uint32Array {
  const out = new Uint32Array(nLayer);
  for (let r = 0; r < n; r++) for (let l = 0; l < nLayer; l++) out[l] += skip[r * nLayer + l];
  return out;
}

export function niceTicks(n: number, want: number): number[] {
  if (n <= 0) return [];
  const raw = n / want;
  const mag = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = 0; t < n; t += step) out.push(t);
  return out;
}

/** Round and layer under a CSS-pixel point of the canvas, or null outside the plot. */
export function hitTest(layout: HeatmapLayout, nLayer: number, n: number, x: number, y: number): { round: number; layer: number } | null {
  if (x < layout.left || x >= layout.right || y < layout.top || y >= layout.bottom || n <= 0) return null;
  const round = Math.min(n - 1, Math.floor(((x - layout.left) / (layout.right - layout.left)) * n));
  const layer = Math.min(nLayer - 1, Math.floor(((y - layout.top) / (layout.bottom - layout.top)) * nLayer));
  return { round, layer };
}

/** The x range (CSS pixels) that round r occupies. */
export function roundX(layout: HeatmapLayout, n: number, r: number): [number, number] {
  const w = layout.right - layout.left;
  return [layout.left + (r / n) * w, layout.left + ((r + 1) / n) * w];
}
