// The layer lab (channel 'lab:run'): re-runs the prompt of a stored trace with a skip set the user
// pinned, or with CLaSp at a fixed M, so its acceptance and cosine path can be set beside the DP's
// choice. The run takes the original's prompt ids, seed, sampling and length, so a greedy re-run
// must give the same tokens (CLaSp is lossless); `identical` says whether it did. The original reply
// and its trace are left as they were; the run is kept as a stand-alone trace of source 'lab' (listed
// under its own heading, linked to the original's conversation, so it goes with it).
//
// Why not re-run the DP on a round's recorded states: a trace keeps the DP's cosines, not the hidden
// states, so "the DP at this round with another M" can only be had by running the prompt again.
import * as path from 'node:path';
import type { RequestOf, ResponseOf } from '../shared/api';
import type { GenerateSettings } from '../shared/engineTypes';
import { formatSkipLayers } from '../shared/skipLayers';
import type { EngineService } from '../services/EngineService';
import { SettingsError, validateSettings, type ValidSettings } from '../services/settings';
import { buildTrace } from '../services/traceBuilder';
import type { SessionStore } from '../sessions/SessionStore';
import type { Trace } from '../shared/trace';
import { ApiError } from './apiErrors';

export interface LabContext {
  store: SessionStore;
  /** the loaded model (the usual one is loaded if none is) */
  engine(): Promise<EngineService>;
}

/** The settings of the re-run: the original's sampling, seed and length, with the lab's skip choice. */
export function labSettings(t: Trace, p: RequestOf<'lab:run'>, nLayer: number): ValidSettings {
  const c = t.config;
  const s: Partial<GenerateSettings> = {
    maxTokens: Math.max(1, t.summary.n_generated),
    temperature: c.sampling.temperature,
    topK: c.sampling.top_k,
    topP: c.sampling.top_p,
    seed: c.seed,
    maxDraft: c.max_draft,
    det: typeof c.det === 'number' ? c.det : undefined,
    ignoreEos: false,
  };
  if (p.skipLayers) Object.assign(s, { mode: 'static', skip: 'auto', skipLayers: p.skipLayers });
  else Object.assign(s, { mode: 'clasp', skip: p.claspM, loi: typeof c.loi === 'number' ? c.loi : undefined, dpTable: true });
  try {
    return validateSettings(s, nLayer);
  } catch (e) {
    if (e instanceof SettingsError) throw new ApiError(e.message, 'bad_request');
    throw e;
  }
}

/** "Lab: skip 3,5,7" or "Lab: clasp M=8", the run's name in the trace list. */
export function labRunName(p: Pick<RequestOf<'lab:run'>, 'skipLayers' | 'claspM'>): string {
  return p.skipLayers ? `Lab: skip ${formatSkipLayers(p.skipLayers)}` : `Lab: clasp M=${p.claspM}`;
}

export async function runLab(ctx: LabContext, p: RequestOf<'lab:run'>): Promise<ResponseOf<'lab:run'>> {
  const original = ctx.store.getTrace(p.traceId);
  if (!original) throw new ApiError(`no trace with id ${p.traceId}`, 'not_found');
  const engine = await ctx.engine();
  const { info } = engine;
  // The same file (by name: a trace may come from another machine), so that greedy tokens must match.
  const file = path.basename(original.model.file);
  if (info.name !== original.model.name || info.nLayer !== original.model.n_layer || path.basename(info.path) !== file) {
    throw new ApiError(`this trace is from ${file} (${original.model.name}, ${original.model.n_layer} layers); load that model to re-run it (loaded: ${path.basename(info.path)})`, 'bad_request');
  }
  if (original.prompt_ids.some((id) => id >= engine.tokenizer.vocabSize)) {
    throw new ApiError(`this trace's prompt has token ids outside ${info.name}'s vocabulary`, 'bad_request');
  }
  const settings = labSettings(original, p, info.nLayer);
  const r = await engine.generate(original.prompt_ids, settings);
  const trace = buildTrace(info, settings, r);
  const rec = ctx.store.getTraceRecord(p.traceId);
  const name = labRunName(p);
  const traceId = ctx.store.putTrace(trace, { source: 'lab', name, conversationId: rec?.conversationId ?? null });
  const before = original.output_ids;
  const identical = before ? before.length === r.ids.length && before.every((id, i) => id === r.ids[i]) : null;
  return { traceId, name, trace, identical };
}
