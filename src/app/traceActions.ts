// The trace channels' work: fetch, import, delete a stand-alone trace (an imported file, a layer-lab
// or a compare-modes run), and token ids to text for the inspector. Kept out of AppService so it stays the map of channels.
import type { AppEvent, ResponseOf } from '../shared/api';
import { TraceError, parseTrace, type Trace } from '../shared/trace';
import type { EngineService } from '../services/EngineService';
import type { SessionStore } from '../sessions/SessionStore';
import { ApiError } from './apiErrors';

export function requireTrace(store: SessionStore, traceId: string): Trace {
  const t = store.getTrace(traceId);
  if (!t) throw new ApiError(`no trace with id ${traceId}`, 'not_found');
  return t;
}

/** Parses and validates an untrusted trace file, stores it, and tells every window. */
export function importTrace(store: SessionStore, text: string, fileName: string | undefined, emit: (e: AppEvent) => void): ResponseOf<'trace:import'> {
  let trace;
  try {
    trace = parseTrace(text, 'the imported file');
  } catch (e) {
    if (e instanceof TraceError) throw new ApiError(e.message, 'bad_request');
    throw e;
  }
  const name = `${fileName?.trim() || 'imported'} · ${trace.model.name} · ${trace.config.mode}`;
  const traceId = store.putTrace(trace, { source: 'imported', name });
  emit({ type: 'trace-imported', traceId, name });
  return { traceId, trace };
}

export function deleteStandaloneTrace(store: SessionStore, traceId: string): ResponseOf<'trace:delete'> {
  const rec = store.getTraceRecord(traceId);
  if (!rec) return { deleted: false };
  // A reply's own trace goes with the reply (delete it or its version); the stand-alone ones go here.
  if (rec.source === 'generated') throw new ApiError('a reply’s trace goes with the reply: only imported, lab and compare traces are deleted here', 'bad_request');
  return { deleted: store.deleteTrace(traceId) };
}

/** Token ids to text for the inspector (imported traces, rejected drafts), one id at a time. */
export function decodeTokens(engine: EngineService | null, ids: number[]): ResponseOf<'tokens:decode'> {
  if (!engine) throw new ApiError('no model is loaded', 'not_found');
  const t = engine.tokenizer;
  return { model: engine.info.name, pieces: ids.map((id) => (id < t.vocabSize ? t.decode([id]) : null)) };
}
