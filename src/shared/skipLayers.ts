// A given skip set: the layers a reply drafts without, chosen by the user (the layer lab, the CLI's
// --skip-layers, the API's clasp.skip_layers) instead of by the DP. It runs as static skipping with
// that set for the whole reply, always honoured (docs/DESIGN.md, "CLaSp: the decisions" 7). The
// rules here are the one check of every front door; the engine checks them once more. Plain data, no
// runtime imports: the renderer bundles it.

/** The most layers any model here has (the trace schema's bound). */
export const MAX_LAYER_INDEX = 1023;

/** Why a list cannot be a skip set for a model of `nLayer` layers (unknown: only the global bound), or null when it can. */
export function skipLayersProblem(list: readonly number[], nLayer?: number): string | null {
  if (list.length === 0) return 'skip layers: name at least one layer';
  const top = nLayer !== undefined ? nLayer - 1 : MAX_LAYER_INDEX;
  const seen = new Set<number>();
  for (const l of list) {
    if (!Number.isInteger(l) || l < 0 || l > top) {
      return `skip layers: layer ${l} is out of range (${nLayer !== undefined ? `the model has layers 0 to ${top}` : `0 to ${top}`})`;
    }
    if (seen.has(l)) return `skip layers: layer ${l} is listed twice`;
    seen.add(l);
  }
  if (nLayer !== undefined && list.length >= nLayer) return `skip layers: at most ${nLayer - 1} of the ${nLayer} layers may be skipped`;
  return null;
}

/**
 * Parses "3,5,7-9" (spaces allowed) into [3, 5, 7, 8, 9], in the order written; throws an Error with
 * a one-line reason for anything else. Range checks against a model are skipLayersProblem's.
 */
export function parseSkipLayers(text: string): number[] {
  const out: number[] = [];
  const parts = text.split(',').map((p) => p.trim());
  for (const p of parts) {
    const m = /^(\d{1,4})(?:\s*-\s*(\d{1,4}))?$/.exec(p);
    if (!m) throw new Error(`skip layers: "${p}" is not a layer index or a range like 7-9 (give e.g. 3,5,7-9)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`skip layers: the range ${p} runs backwards`);
    if (b > MAX_LAYER_INDEX) throw new Error(`skip layers: layer ${b} is out of range (0 to ${MAX_LAYER_INDEX})`);
    for (let l = a; l <= b; l++) out.push(l);
  }
  return out;
}

/** [3, 5, 7, 8, 9] as "3,5,7-9" (sorted; the form parseSkipLayers reads). */
export function formatSkipLayers(list: readonly number[]): string {
  const s = [...list].sort((x, y) => x - y);
  const parts: string[] = [];
  let start = 0;
  s.forEach((l, i) => {
    if (i + 1 < s.length && s[i + 1] === l + 1) return; // the run goes on
    const first = s[start] as number;
    parts.push(l - first >= 2 ? `${first}-${l}` : l === first + 1 ? `${first},${l}` : `${l}`);
    start = i + 1;
  });
  return parts.join(',');
}
