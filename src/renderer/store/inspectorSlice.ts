// What the inspector shows: the rounds of one reply (live, or loaded from its stored trace) or of an
// imported trace file; the selected and hovered round; the replay cursor. Round data lives in
// RoundsBuffer objects that are appended to in place; `inspectorVersion` tells views to redraw.
import type { Message } from '@shared/api';
import { parseTrace, TraceError } from '@shared/trace';
import { call, errorText } from '../lib/client';
import { inferLayers, RoundsBuffer } from '../lib/rounds';
import type { InspectorSlice, Slice } from './types';

let importCount = 0;
/** imports this window is sending to the backend: their 'trace-imported' events are its own */
let ownImports = 0;

export function sourceKey(src: { kind: 'message'; messageId: string } | { kind: 'import'; key: string } | null): string | null {
  if (!src) return null;
  return src.kind === 'message' ? src.messageId : src.key;
}

export const createInspectorSlice: Slice<InspectorSlice> = (set, get) => ({
  buffers: {},
  traces: {},
  source: null,
  lastImport: null,
  inspectorVersion: 0,
  cursor: null,
  replaying: false,
  replaySpeed: 1,
  setReplaySpeed(replaySpeed) {
    if (Number.isFinite(replaySpeed) && replaySpeed > 0) set({ replaySpeed });
  },
  selectedRound: null,
  hover: null,
  simMetric: 'path',
  importError: null,
  traceLoading: false,

  appendRounds(messageId, rounds) {
    let buf = get().buffers[messageId];
    const fresh = !buf;
    if (!buf) {
      const L = get().current?.nLayer ?? inferLayers(rounds, 32);
      buf = new RoundsBuffer(L, 512);
    }
    buf.append(rounds);
    const src = get().source;
    const live = get().activeReply;
    // Follow the reply being generated, unless the user is looking at an imported trace.
    const follow = live?.messageId === messageId && (!src || src.kind !== 'message' || src.messageId !== messageId);
    set({
      ...(fresh ? { buffers: { ...get().buffers, [messageId]: buf } } : {}),
      ...(follow && live
        ? { source: { kind: 'message', messageId, conversationId: live.conversationId }, selectedRound: null, hover: null, cursor: null, replaying: false }
        : {}),
      inspectorVersion: get().inspectorVersion + 1,
    });
  },

  tokenText: {},
  tokenTextModel: null,
  async decodeIds(ids) {
    const model = get().current?.name ?? null;
    const known = get().tokenTextModel === model ? get().tokenText : {};
    const missing = [...new Set(ids)].filter((id) => known[id] === undefined);
    if (!model || missing.length === 0) return;
    try {
      const r = await call('tokens:decode', { ids: missing });
      const base = get().tokenTextModel === r.model ? get().tokenText : {};
      const next = { ...base };
      r.pieces.forEach((p, i) => p !== null && (next[missing[i]] = p));
      set({ tokenText: next, tokenTextModel: r.model });
    } catch {
      /* no model, or it changed: ids stay shown as ids */
    }
  },

  clearInspector() {
    set({ source: null, selectedRound: null, hover: null, cursor: null, replaying: false, inspectorVersion: get().inspectorVersion + 1 });
  },

  followLive(messageId, conversationId) {
    let buf = get().buffers[messageId];
    if (!buf) buf = new RoundsBuffer(get().current?.nLayer ?? 32, 512);
    set({
      buffers: { ...get().buffers, [messageId]: buf },
      source: { kind: 'message', messageId, conversationId },
      selectedRound: null,
      hover: null,
      cursor: null,
      replaying: false,
      inspectorVersion: get().inspectorVersion + 1,
    });
  },

  async inspectMessage(message: Message, round = null) {
    if (message.role !== 'assistant') return;
    const src = { kind: 'message' as const, messageId: message.id, conversationId: message.conversationId };
    const same = get().source?.kind === 'message' && (get().source as { messageId: string }).messageId === message.id;
    set({ source: src, selectedRound: round, hover: null, ...(same ? {} : { cursor: null, replaying: false }), inspectorVersion: get().inspectorVersion + 1 });
    if (get().buffers[message.id] || !message.traceId) return;
    set({ traceLoading: true });
    try {
      const trace = await call('trace:get', { traceId: message.traceId });
      const buf = RoundsBuffer.fromRounds(trace.model.n_layer, trace.rounds);
      set({
        buffers: { ...get().buffers, [message.id]: buf },
        traces: { ...get().traces, [message.id]: trace },
        inspectorVersion: get().inspectorVersion + 1,
      });
    } catch (e) {
      get().pushError(`Could not load this reply's trace: ${errorText(e)}`);
    } finally {
      set({ traceLoading: false });
    }
  },

  importTraceText(text, name) {
    let trace;
    try {
      trace = parseTrace(text, name);
    } catch (e) {
      // A bad file changes nothing but the error line.
      set({ importError: e instanceof TraceError ? e.message : `${name}: ${errorText(e)}` });
      return false;
    }
    const key = `import:${++importCount}`;
    const buf = RoundsBuffer.fromRounds(trace.model.n_layer, trace.rounds);
    set({
      buffers: { ...get().buffers, [key]: buf },
      traces: { ...get().traces, [key]: trace },
      source: { kind: 'import', key, name },
      lastImport: { kind: 'import', key, name },
      selectedRound: null,
      hover: null,
      cursor: null,
      replaying: false,
      importError: null,
      inspectorVersion: get().inspectorVersion + 1,
    });
    // Keep it in the backend too, so the list of imports reaches it after a reload.
    ownImports++;
    void Promise.resolve()
      .then(() => call('trace:import', { text, name }))
      .then(async (r) => {
        const src = get().source;
        const named = { kind: 'import' as const, key, name, traceId: r.traceId };
        set({ ...(src?.kind === 'import' && src.key === key ? { source: named } : {}), lastImport: get().lastImport?.key === key ? named : get().lastImport });
        await get().loadStoredTraces();
      })
      .catch((e) => get().showToast(`${name} is shown, but was not kept for later: ${errorText(e)}`))
      .finally(() => ownImports--);
    return true;
  },

  storedTraces: [],
  async loadStoredTraces() {
    try {
      const list = await call('traces:list', {});
      // a reply's own trace is reached from its reply; the stand-alone ones from the trace list
      set({ storedTraces: list.filter((t) => t.source !== 'generated').sort((a, b) => b.createdAt - a.createdAt) });
    } catch (e) {
      get().pushError(`Could not list the stored traces: ${errorText(e)}`, null);
    }
  },
  async deleteStoredTrace(traceId) {
    try {
      await call('trace:delete', { traceId });
    } catch (e) {
      get().pushError(`Could not delete the trace: ${errorText(e)}`, null);
      return;
    }
    const src = get().source;
    const shown = src?.kind === 'import' && src.traceId === traceId;
    set({
      storedTraces: get().storedTraces.filter((t) => t.id !== traceId),
      ...(shown ? { source: null, selectedRound: null, hover: null, cursor: null, replaying: false } : {}),
      ...(get().lastImport?.traceId === traceId ? { lastImport: null } : {}),
      inspectorVersion: get().inspectorVersion + 1,
    });
  },

  async showStoredTrace(traceId, name, opts = {}) {
    if (opts.fromEvent && ownImports > 0) return; // this window's own import: already shown
    const origin = opts.origin && opts.origin !== 'imported' ? { origin: opts.origin } : {};
    const src = get().source;
    if (src?.kind === 'import' && src.traceId === traceId) return;
    try {
      const trace = await call('trace:get', { traceId });
      const key = `import:${++importCount}`;
      set({
        buffers: { ...get().buffers, [key]: RoundsBuffer.fromRounds(trace.model.n_layer, trace.rounds) },
        traces: { ...get().traces, [key]: trace },
        source: { kind: 'import', key, name, traceId, ...origin },
        lastImport: { kind: 'import', key, name, traceId, ...origin },
        selectedRound: null,
        hover: null,
        cursor: null,
        replaying: false,
        importError: null,
        inspectorOpen: true,
        inspectorVersion: get().inspectorVersion + 1,
      });
    } catch (e) {
      get().pushError(`Could not open the trace ${name}: ${errorText(e)}`);
    }
  },

  showImport() {
    const imp = get().lastImport;
    if (!imp || !get().buffers[imp.key]) return;
    set({ source: imp, selectedRound: null, hover: null, cursor: null, replaying: false, inspectorVersion: get().inspectorVersion + 1 });
  },

  selectRound(r) {
    set({ selectedRound: r, inspectorVersion: get().inspectorVersion + 1 });
  },
  setHover(h) {
    const cur = get().hover;
    if (cur === h || (cur && h && cur.round === h.round && cur.layer === h.layer)) return;
    set({ hover: h, inspectorVersion: get().inspectorVersion + 1 });
  },
  setSimMetric(simMetric) {
    set({ simMetric, inspectorVersion: get().inspectorVersion + 1 });
  },
  setCursor(cursor) {
    set({ cursor, inspectorVersion: get().inspectorVersion + 1 });
  },
  setReplaying(replaying) {
    set({ replaying });
  },
  clearImportError() {
    set({ importError: null });
  },
});
