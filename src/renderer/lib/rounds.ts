// Round events of one reply (live or from a trace) kept twice: as the objects themselves, for the
// drill-down, and as flat typed arrays (rounds × layers) that the canvas heatmaps read without
// allocating. Appends are amortised O(1); thousands of rounds stay cheap to draw.
import type { RoundEvent } from '@shared/engineTypes';
import type { TraceRound } from '@shared/trace';

export type AnyRound = RoundEvent | TraceRound;

export class RoundsBuffer {
  readonly rounds: AnyRound[] = [];
  /** (cap, L): 1 where layer l was skipped while drafting round r */
  skip: Uint8Array;
  /** (cap, L): cosine of the DP path's state after layer l with the target's; carried forward from the last DP; NaN before one */
  pathCos: Float32Array;
  /** (cap, L): cos(h_{l+1}, h_l), how much layer l changed the target token; carried forward like pathCos */
  layerCos: Float32Array;
  /** (cap): 1 where a DP ran before this round's draft (and chose its skip set) */
  dpHere: Uint8Array;
  accepted: Uint16Array;
  drafted: Uint16Array;
  count = 0;
  /** bumps on every change, so views know when to redraw */
  version = 0;
  pathMin = 1;
  layerMin = 1;
  maxDraft = 1;
  private cap: number;
  private lastPath: Float32Array;
  private lastLayer: Float32Array;

  constructor(readonly nLayer: number, capacity = 256) {
    this.cap = Math.max(16, capacity);
    const L = nLayer;
    this.skip = new Uint8Array(this.cap * L);
    this.pathCos = new Float32Array(this.cap * L);
    this.layerCos = new Float32Array(this.cap * L);
    this.dpHere = new Uint8Array(this.cap);
    this.accepted = new Uint16Array(this.cap);
    this.drafted = new Uint16Array(this.cap);
    this.lastPath = new Float32Array(L).fill(NaN);
    this.lastLayer = new Float32Array(L).fill(NaN);
  }

  static fromRounds(nLayer: number, rounds: readonly AnyRound[]): RoundsBuffer {
    const b = new RoundsBuffer(nLayer, rounds.length);
    b.append(rounds);
    return b;
  }

  private grow(need: number): void {
    if (need <= this.cap) return;
    let cap = this.cap;
    while (cap < need) cap *= 2;
    const L = this.nLayer;
    const g8 = (a: Uint8Array, n: number) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const g16 = (a: Uint16Array, n: number) => {
      const b = new Uint16Array(n);
      b.set(a);
      return b;
    };
    const gf = (a: Float32Array, n: number) => {
      const b = new Float32Array(n);
      b.set(a);
      return b;
    };
    this.skip = g8(this.skip, cap * L);
    this.pathCos = gf(this.pathCos, cap * L);
    this.layerCos = gf(this.layerCos, cap * L);
    this.dpHere = g8(this.dpHere, cap);
    this.accepted = g16(this.accepted, cap);
    this.drafted = g16(this.drafted, cap);
    this.cap = cap;
  }

  append(rounds: readonly AnyRound[]): void {
    if (rounds.length === 0) return;
    this.grow(this.count + rounds.length);
    const L = this.nLayer;
    for (const r of rounds) {
      const i = this.count++;
      this.rounds.push(r);
      const base = i * L;
      for (const l of r.skip) if (l >= 0 && l < L) this.skip[base + l] = 1;
      if (r.dp) {
        this.dpHere[i] = 1;
        for (let l = 0; l < L; l++) {
          const pc = r.dp.path_cosine[l + 1];
          const lc = r.dp.layer_cosine[l + 1];
          this.lastPath[l] = typeof pc === 'number' ? pc : NaN;
          this.lastLayer[l] = typeof lc === 'number' ? lc : NaN;
          if (typeof pc === 'number' && pc < this.pathMin) this.pathMin = pc;
          if (typeof lc === 'number' && lc < this.layerMin) this.layerMin = lc;
        }
      }
      this.pathCos.set(this.lastPath, base);
      this.layerCos.set(this.lastLayer, base);
      const d = r.draft.ids.length;
      this.accepted[i] = Math.min(65535, r.verify.accepted);
      this.drafted[i] = Math.min(65535, d);
      if (d > this.maxDraft) this.maxDraft = d;
    }
    this.version++;
  }

  /** The round whose DP chose round r's skip set (r itself, or the latest earlier DP), or -1. */
  dpRoundFor(r: number): number {
    for (let i = Math.min(r, this.count - 1); i >= 0; i--) if (this.dpHere[i]) return i;
    return -1;
  }

  /** Totals over the first n rounds (all by default), with the contract's definitions. */
  totals(n = this.count): { rounds: number; drafted: number; accepted: number; meanAcceptedLength: number; acceptanceRate: number; dpRuns: number } {
    let drafted = 0;
    let accepted = 0;
    let dpRuns = 0;
    for (let i = 0; i < n; i++) {
      drafted += this.drafted[i];
      accepted += this.accepted[i];
      dpRuns += this.dpHere[i];
    }
    return {
      rounds: n,
      drafted,
      accepted,
      // tokens produced per verify round, counting the correction or bonus token
      meanAcceptedLength: n > 0 ? (accepted + n) / n : 0,
      acceptanceRate: drafted > 0 ? accepted / drafted : 0,
      dpRuns,
    };
  }
}

/** Guesses L from rounds when the model is unknown (an imported trace always names it). */
export function inferLayers(rounds: readonly AnyRound[], fallback: number): number {
  for (const r of rounds) if (r.dp) return Math.max(1, r.dp.path_cosine.length - 1);
  let m = 0;
  for (const r of rounds) for (const l of r.skip) m = Math.max(m, l + 1);
  return Math.max(m, fallback);
}
