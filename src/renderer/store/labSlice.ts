// The layer lab: skip sets the user pins in a round's layer strip (per inspected reply or trace), and
// the runs made with them ('lab:run'), so each run's acceptance and cosine path can be shown beside
// the DP's choice. The runs are kept by the backend as stand-alone 'lab' traces; this slice holds what the
// inspector shows of them while the app runs.
import type { ResponseOf } from '@shared/api';
import { call, errorText } from '../lib/client';
import { compareHold } from './studioSlice';
import type { LabRun, LabSlice, Slice } from './types';

/** What the lab shows of a run, from the backend's answer. */
export function labRunOf(r: ResponseOf<'lab:run'>): LabRun {
  const t = r.trace;
  const s = t.summary;
  const given = t.config.skip_layers ?? null;
  const first = t.rounds[0]?.dp ?? null;
  return {
    traceId: r.traceId,
    name: r.name,
    kind: given ? 'set' : 'clasp',
    skip: given ? [...given] : [],
    M: typeof t.config.skip === 'number' ? t.config.skip : 0,
    identical: r.identical,
    greedy: t.config.sampling.temperature === 0,
    meanAcceptedLength: s.mean_accepted_length,
    acceptanceRate: s.acceptance_rate,
    tokensPerS: s.tokens_per_s,
    // the first round's path is at the prompt's last token, like the original's first DP
    path: first && first.target_pos === t.prompt_ids.length - 1 ? first.path_cosine : null,
  };
}

export const createLabSlice: Slice<LabSlice> = (set, get) => ({
  labPins: {},
  labRuns: {},
  labBusy: null,
  labError: null,

  toggleLabLayer(key, layer) {
    const cur = get().labPins[key] ?? [];
    const next = cur.includes(layer) ? cur.filter((l) => l !== layer) : [...cur, layer].sort((a, b) => a - b);
    set({ labPins: { ...get().labPins, [key]: next } });
  },

  setLabPins(key, layers) {
    set({ labPins: { ...get().labPins, [key]: [...new Set(layers)].sort((a, b) => a - b) } });
  },

  async runLab(key, traceId, claspM) {
    if (get().labBusy) return;
    const pins = get().labPins[key] ?? [];
    if (claspM === undefined && pins.length === 0) return;
    const held = compareHold(get(), 'The re-run', null);
    if (held) {
      set({ labError: { key, text: held } });
      return;
    }
    set({ labBusy: key, labError: null });
    try {
      const r = await call('lab:run', claspM === undefined ? { traceId, skipLayers: pins } : { traceId, claspM });
      set({ labRuns: { ...get().labRuns, [key]: [...(get().labRuns[key] ?? []), labRunOf(r)] } });
      void get().loadStoredTraces(); // the run is kept, under the trace list's Lab heading
    } catch (e) {
      set({ labError: { key, text: errorText(e) } });
    } finally {
      set({ labBusy: null });
    }
  },
});
