#!/usr/bin/env node
// Draws docs/perf/sweep.json (scripts/sweep-clasp.js) as an SVG: one heat map of the speed-up over
// plain decoding per LOI, skip count M down the side, DET across. No plotting library: the SVG is
// written by hand, and headless Chromium renders it as a PNG for the docs.
//   node scripts/plot-sweep.js [docs/perf/sweep.json] [docs/perf/sweep.svg]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const input = process.argv[2] ?? path.join(root, 'docs/perf/sweep.json');
const output = process.argv[3] ?? input.replace(/\.json$/, '.svg');
const d = JSON.parse(fs.readFileSync(input, 'utf8'));
const { M: Ms, det: DETs, loi: LOIs } = d.grid;
const cell = 56, pad = 70, gap = 40, top = 88;
const panelW = DETs.length * cell, panelH = Ms.length * cell;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const title = `${d.model}: greedy CLaSp speed-up over plain decoding`;
const subtitle = `Interleaved prompt by prompt, ${d.prompts.length} prompts x ${d.max_tokens} tokens; ${d.device}, ${d.date.slice(0, 10)}.`;
const axes = 'Rows: skip count M; columns: DET; one panel per LOI.';
// The text's width is estimated (DejaVu Sans: about 0.62 em a character, bold 0.68); the PNG step
// measures it in Chromium and widens the picture if the estimate fell short, so nothing is clipped.
const textW = Math.max(title.length * 16 * 0.68, subtitle.length * 13 * 0.62, axes.length * 13 * 0.62);
let W = Math.ceil(Math.max(pad + LOIs.length * (panelW + gap) + 120, pad + textW + 30));
const H = top + panelH + 90;
const find = (M, det, loi) => d.rows.find((r) => r.skip === M && r.det === det && r.loi === loi);
const all = d.rows.filter((r) => r.skip !== undefined && r.mode === 'clasp').map((r) => r.speedup);
const lo = Math.min(...all, 1), hi = Math.max(...all, 1);
// Diverging colours around 1.0x: red below (slower than plain), blue above.
function color(v) {
  const t = v < 1 ? -(1 - v) / Math.max(1e-9, 1 - lo) : (v - 1) / Math.max(1e-9, hi - 1);
  const a = Math.min(1, Math.abs(t));
  const [r, g, b] = t < 0 ? [214, 96, 77] : [67, 147, 195];
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
  `<rect width="100%" height="100%" fill="white"/>`,
  `<text x="${pad}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
  `<text x="${pad}" y="44" fill="#555">${esc(subtitle)}</text>`,
  `<text x="${pad}" y="62" fill="#555">${esc(axes)}</text>`,
];
LOIs.forEach((loi, p) => {
  const x0 = pad + p * (panelW + gap);
  parts.push(`<text x="${x0 + panelW / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">LOI ${loi}</text>`);
  Ms.forEach((M, i) => {
    if (p === 0) parts.push(`<text x="${x0 - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">M=${M}</text>`);
    DETs.forEach((det, j) => {
      const r = find(M, det, loi);
      const x = x0 + j * cell, y = top + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="${r ? color(r.speedup) : '#eee'}"/>`);
      if (r) parts.push(`<text x="${x + cell / 2 - 1}" y="${y + cell / 2 + 4}" text-anchor="middle">${r.speedup.toFixed(2)}</text>`);
    });
  });
  DETs.forEach((det, j) => parts.push(`<text x="${x0 + j * cell + cell / 2}" y="${top + panelH + 18}" text-anchor="middle">${det}</text>`));
  parts.push(`<text x="${x0 + panelW / 2}" y="${top + panelH + 36}" text-anchor="middle" fill="#555">DET</text>`);
});
const auto = d.rows.find((r) => r.label === 'auto');
if (auto) parts.push(`<text x="${pad}" y="${H - 16}">Policy default (auto M, DET, LOI): ${auto.speedup.toFixed(3)}x. Red: slower than plain decoding; blue: faster.</text>`);
parts.push('</svg>');
const svg = () => parts.join('\n').replace(/^(<svg [^>]*?)width="\d+"/, `$1width="${W}"`) + '\n';
fs.writeFileSync(output, svg());
process.stderr.write(`wrote ${output}\n`);

// The PNG for the docs: headless Chromium (as the e2e tests use) renders the SVG, after measuring its
// text: if any line reaches past the right edge, the SVG is widened and written again.
async function png() {
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: W, height: H } });
  await page.goto('file://' + path.resolve(output));
  // (runs in the page: `document` is the SVG's)
  const right = await page.evaluate(() => Math.max(...Array.from(globalThis.document.querySelectorAll('text'), (t) => t.getBBox().x + t.getBBox().width)));
  if (right + 20 > W) {
    W = Math.ceil(right + 30);
    fs.writeFileSync(output, svg());
    process.stderr.write(`widened to ${W} px to fit the text; wrote ${output} again\n`);
    await page.setViewportSize({ width: W, height: H });
    await page.goto('file://' + path.resolve(output));
  }
  await page.screenshot({ path: output.replace(/\.svg$/, '.png') });
  await browser.close();
  process.stderr.write(`wrote ${output.replace(/\.svg$/, '.png')}\n`);
}
png().catch((e) => process.stderr.write(`no PNG: ${e.message}\n`));
