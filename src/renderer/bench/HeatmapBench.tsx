// A tiny benchmark page (open the app with #bench): times drawing the inspector's heatmaps for a
// synthetic reply of 5000 rounds × 32 layers, with the same code the inspector uses. The e2e test
// opens it in headless Chromium and reports the numbers.
import { useEffect, useRef, useState } from 'react';
import type { RoundEvent } from '@shared/engineTypes';
import { ramp, viridis } from '../lib/colors';
import { drawAxes, drawHeatmapCells, plotRect, type HeatmapData } from '../lib/heatmap';
import { renderMarkdown } from '../lib/markdown';
import { RoundsBuffer } from '../lib/rounds';

export interface BenchResult {
  rounds: number;
  layers: number;
  widthPx: number;
  heightPx: number;
  appendMs: number;
  skipDrawMs: { median: number; p95: number; min: number };
  similarityDrawMs: { median: number; p95: number; min: number };
  iterations: number;
  userAgent: string;
  /** the reply renderer kept Markdown and dropped every way to run script or load content */
  markdownSafe: boolean;
  markdownHtml: string;
}

const HOSTILE_MARKDOWN = [
  '**bold** and `code`',
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 1">',
  '[link](javascript:window.__pwned=1)',
  '![remote](https://example.com/x.png)',
  '<iframe src="https://example.com"></iframe>',
  '<a href="https://example.com" onclick="window.__pwned=1">a</a>',
].join('\n\n');

/** Renders hostile Markdown into the page and checks what survived. */
function checkMarkdown(): { markdownSafe: boolean; markdownHtml: string } {
  const html = renderMarkdown(HOSTILE_MARKDOWN);
  const box = document.createElement('div');
  box.innerHTML = html;
  document.body.appendChild(box);
  const bad =
    box.querySelector('script, iframe, img, object, embed') !== null ||
    [...box.querySelectorAll('*')].some((el) => [...el.attributes].some((a) => /^on/i.test(a.name) || /javascript:/i.test(a.value))) ||
    (window as unknown as { __pwned?: number }).__pwned === 1;
  const kept = box.querySelector('strong')?.textContent === 'bold' && box.querySelector('code')?.textContent === 'code';
  box.remove();
  return { markdownSafe: !bad && kept, markdownHtml: html };
}

function syntheticRounds(n: number, L: number): RoundEvent[] {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const out: RoundEvent[] = [];
  let skip: number[] = [];
  for (let i = 0; i < n; i++) {
    const dpNow = i % 4 === 0;
    let dp: RoundEvent['dp'] = null;
    if (dpNow) {
      const M = 10 + Math.floor(rnd() * 6);
      const cands = Array.from({ length: L - 1 }, (_, l) => l + 1).sort(() => rnd() - 0.5);
      skip = cands.slice(0, M).sort((a, b) => a - b);
      const path = [1];
      const layer: (number | null)[] = [null];
      for (let l = 1; l <= L; l++) {
        path.push(1 - (l / L) * 0.05 * rnd());
        layer.push(0.8 + 0.2 * rnd());
      }
      dp = { target_pos: 100 + i, ms: 1, M, path_cosine: path, layer_cosine: layer };
    }
    const d = 1 + Math.floor(rnd() * 8);
    const a = Math.floor(rnd() * (d + 1));
    out.push({
      index: i,
      pos: 100 + i * 3,
      skip,
      dp,
      draft: { ids: Array(d).fill(1), q: Array(d).fill(0.9), top1: Array(d).fill(0.9), ms: 1 },
      verify: { accepted: a, p: Array(d).fill(0.8), next_id: 2, ms: 2 },
      policy: null,
    });
  }
  return out;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))], min: s[0] };
}

export function runHeatmapBench(canvas: HTMLCanvasElement, n = 5000, L = 32, iterations = 30): BenchResult {
  const rounds = syntheticRounds(n, L);
  const t0 = performance.now();
  const buf = RoundsBuffer.fromRounds(L, rounds);
  const appendMs = performance.now() - t0;
  const W = 600;
  const H = 150;
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.width = W * dpr;
  canvas.height = H * dpr;
  canvas.style.width = `${W}px`;
  canvas.style.height = `${H}px`;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const layout = plotRect(W, H);
  const base: [number, number, number] = [34, 37, 46];
  const skipLut = ramp(base, [255, 140, 66]);
  const time = (data: HeatmapData) => {
    const ts: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const a = performance.now();
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      drawHeatmapCells(ctx, layout, data, dpr);
      drawAxes(ctx, layout, L, n, { text: '#888', grid: '#444', font: '10px system-ui' });
      // force the canvas work to finish inside the timing
      ctx.getImageData(0, 0, 1, 1);
      ts.push(performance.now() - a);
    }
    return stats(ts);
  };
  const empty: [number, number, number, number] = [...base, 255];
  const skipDrawMs = time({ values: buf.skip, nLayer: L, n, lo: 0, hi: 1, lut: skipLut, empty });
  const similarityDrawMs = time({ values: buf.pathCos, nLayer: L, n, lo: 0.9, hi: 1, lut: viridis, empty });
  return { rounds: n, layers: L, widthPx: W, heightPx: H, appendMs, skipDrawMs, similarityDrawMs, iterations, userAgent: navigator.userAgent, ...checkMarkdown() };
}

export function HeatmapBench() {
  const ref = useRef<HTMLCanvasElement>(null);
  const [result, setResult] = useState<BenchResult | null>(null);
  useEffect(() => {
    // let the page paint first
    const t = setTimeout(() => {
      if (ref.current) setResult(runHeatmapBench(ref.current));
    }, 50);
    return () => clearTimeout(t);
  }, []);
  return (
    <div className="bench-page">
      <h1>Heatmap draw benchmark</h1>
      <p>5000 rounds × 32 layers, drawn into a 600 × 150 canvas with the inspector's binning code.</p>
      <canvas ref={ref} />
      <pre data-testid="bench-result">{result ? JSON.stringify(result, null, 2) : 'running…'}</pre>
    </div>
  );
}
