// The renderer's pure helpers: token-to-round mapping, the round buffer the heatmaps read, heatmap
// binning and hit testing, number formatting, and the settings panel's skip parsing.
import { describe, expect, it } from 'vitest';
import { mapTokensToRounds } from '../../../src/renderer/lib/fates';
import { fmtBytes, fmtInt, fmtMs, fmtNum, fmtPct } from '../../../src/renderer/lib/format';
import { binHeatmap, hitTest, niceTicks, type HeatmapData } from '../../../src/renderer/lib/heatmap';
import { inferLayers, RoundsBuffer } from '../../../src/renderer/lib/rounds';
import { parseSkip } from '../../../src/renderer/settings/fields';
import { sampleTrace } from '../helpers/traces';

describe('mapTokensToRounds', () => {
  it('closes a round at each correction or bonus; plain tokens belong to none', () => {
    const m = mapTokensToRounds(['plain', 'accepted', 'accepted', 'correction', 'bonus', 'plain', 'accepted', 'bonus']);
    expect([...m.roundOf]).toEqual([-1, 0, 0, 0, 1, -1, 2, 2]);
    expect(m.firstToken).toEqual([1, 4, 6]);
  });
});

describe('RoundsBuffer', () => {
  it('keeps skip sets, cosines and counts per round, growing past its capacity', () => {
    const t = sampleTrace(4);
    const r0 = t.rounds[0]!;
    const later = Array.from({ length: 40 }, (_, i) => ({ ...r0, index: i + 1, dp: null, skip: [1, 3] }));
    const b = RoundsBuffer.fromRounds(4, [r0]);
    b.append(later);
    expect(b.count).toBe(41);
    expect([...b.skip.slice(0, 4)]).toEqual([0, 0, 1, 0]);
    expect([...b.skip.slice(40 * 4, 41 * 4)]).toEqual([0, 1, 0, 1]);
    // a round without a DP carries the last DP's cosines forward
    expect(b.pathCos[40 * 4 + 1]).toBeCloseTo(b.pathCos[1]!);
    expect(b.dpRoundFor(40)).toBe(0);
    const tot = b.totals();
    expect(tot).toMatchObject({ rounds: 41, drafted: 41 * 3, accepted: 41 * 2, dpRuns: 1 });
    expect(tot.meanAcceptedLength).toBeCloseTo(3); // 2 accepted + the correction, per round
    expect(tot.acceptanceRate).toBeCloseTo(2 / 3);
    expect(b.totals(0).meanAcceptedLength).toBe(0);
  });

  it('infers the layer count from a DP, else from the deepest skipped layer', () => {
    const r = sampleTrace(6).rounds[0]!;
    expect(inferLayers([r], 32)).toBe(6);
    expect(inferLayers([{ ...r, dp: null, skip: [40] }], 32)).toBe(41);
  });
});

describe('heatmap helpers', () => {
  const lut = new Uint8ClampedArray(256 * 4).map((_, i) => (i % 4 === 3 ? 255 : Math.floor(i / 4)));
  const data = (values: number[], n: number, nLayer: number): HeatmapData => ({ values: Float32Array.from(values), nLayer, n, lo: 0, hi: 1, lut, empty: [9, 9, 9, 255] });

  it('averages rounds into columns, maps through the LUT, and paints empty cells', () => {
    // 4 rounds × 2 layers into 2 columns: column 0 averages rounds 0-1, column 1 rounds 2-3
    const { pixels, cols } = binHeatmap(data([0, 1, 1, 1, 0, NaN, 0, NaN], 4, 2), 2);
    expect(cols).toBe(2);
    const px = (layer: number, col: number) => pixels[(layer * cols + col) * 4];
    expect(px(0, 0)).toBe(128); // mean 0.5
    expect(px(1, 0)).toBe(255);
    expect(px(0, 1)).toBe(0);
    expect(px(1, 1)).toBe(9); // no value: the empty colour
  });

  it('finds the round and layer under a point, and nothing outside the plot', () => {
    const layout = { left: 10, right: 110, top: 0, bottom: 40, width: 120, height: 50 };
    expect(hitTest(layout, 4, 10, 10, 0)).toEqual({ round: 0, layer: 0 });
    expect(hitTest(layout, 4, 10, 109.9, 39.9)).toEqual({ round: 9, layer: 3 });
    expect(hitTest(layout, 4, 10, 9, 5)).toBeNull();
    expect(niceTicks(100, 5)).toEqual([0, 20, 40, 60, 80]);
    expect(niceTicks(0, 5)).toEqual([]);
  });
});

describe('formatting', () => {
  it('formats numbers, percentages, durations and sizes, with a dash for no value', () => {
    expect(fmtNum(1234.567, 2)).toBe('1,234.57');
    expect(fmtInt(null)).toBe('–');
    expect(fmtPct(0.256)).toBe('26%');
    expect(fmtMs(0.5)).toBe('0.50 ms');
    expect(fmtMs(12_345)).toBe('12.3 s');
    expect(fmtBytes(30 * 1024 * 1024)).toBe('30 MB');
    expect(fmtBytes(0)).toBe('');
  });
});

describe('parseSkip', () => {
  it("takes 'auto' or a count below the layer count, and nothing else", () => {
    expect(parseSkip(' Auto ', 32)).toBe('auto');
    expect(parseSkip('', 32)).toBe('auto');
    expect(parseSkip('31', 32)).toBe(31);
    expect(parseSkip('32', 32)).toBeNull();
    expect(parseSkip('-1', 32)).toBeNull();
    expect(parseSkip('2.5', null)).toBeNull();
    expect(parseSkip('1023', null)).toBe(1023);
  });
});
