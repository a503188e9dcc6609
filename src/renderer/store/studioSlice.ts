// Reply versions, "Compare modes" and the inspector's A/B pin: the renderer side of issue 13 item 2.
// Versions: ‹ n/m › swaps the shown reply for another version (chat:version), and the inspector
// follows when it showed the old one. Compare: one job per reply at a time; its progress and result
// arrive as app events and live here only (never in the conversation); each run's trace is stored by
// the backend (source 'compare'), so a run opens in the inspector and shows in the trace list. Pin: one trace kept as A, to
// show another against it.
import type { Message } from '@shared/api';
import type { CompareEvent } from '@shared/compare';
import { call, errorText } from '../lib/client';
import { sourceKey } from './inspectorSlice';
import type { AbStats, AppState, CompareState, Slice, StudioSlice } from './types';

/**
 * The reply whose comparison is running now, if any (in any conversation: it holds the one engine, so
 * a reply sent meanwhile would wait unseen behind it, or be refused as busy in its own chat).
 */
export function runningCompareId(s: Pick<AppState, 'compares'>): string | null {
  for (const [messageId, c] of Object.entries(s.compares)) if (c.running) return messageId;
  return null;
}

/**
 * Why `action` (Send, Regenerate, Edit & resend, Try it anyway, the layer lab's re-runs) must wait:
 * a comparison is running. Null when nothing holds it back. `convId`: the chat the action belongs to
 * (null: none, so no "this chat" / "another chat"). The one sentence every such button shows as its
 * title, and the actions themselves refuse with, so a keyboard path cannot start one either.
 */
export function compareHold(s: Pick<AppState, 'compares'>, action: string, convId: string | null): string | null {
  const id = runningCompareId(s);
  const c = id ? s.compares[id] : undefined;
  if (!c) return null;
  const where = convId === null ? 'a reply' : c.conversationId === convId ? 'a reply of this chat' : 'a reply in another chat';
  return `${action} waits: “Compare modes” is re-running ${where} on the model (${c.done}/${c.total} runs). ${action} comes back when it ends.`;
}

/** A comparison that did not start, with the reason shown in its panel. */
const failedJob = (conversationId: string, error: string): CompareState => ({ jobId: null, conversationId, running: false, done: 0, total: 0, phase: 'failed', result: null, error });

export const createStudioSlice: Slice<StudioSlice> = (set, get) => {
  /** Puts `next` in the place of the shown version `oldId` of conversation `cid`. */
  const swap = (cid: string, oldId: string, next: Message) => {
    const list = get().messages[cid] ?? [];
    set({ messages: { ...get().messages, [cid]: list.map((m) => (m.id === oldId ? next : m)) } });
    const src = get().source;
    if (src?.kind === 'message' && src.messageId === oldId) void get().inspectMessage(next);
  };

  return {
    async showVersion(shown, messageId) {
      if (!shown.versions || shown.id === messageId) return;
      try {
        swap(shown.conversationId, shown.id, await call('chat:version', { conversationId: shown.conversationId, messageId }));
      } catch (e) {
        get().pushError(`Could not show that version: ${errorText(e)}`, shown.conversationId);
      }
    },

    async deleteVersion(shown) {
      if (!shown.versions) return;
      try {
        const r = await call('chat:version-delete', { conversationId: shown.conversationId, messageId: shown.id });
        if (r.shown) swap(shown.conversationId, shown.id, r.shown);
        if (get().abPin?.key === shown.id) set({ abPin: null });
      } catch (e) {
        get().pushError(`Could not delete that version: ${errorText(e)}`, shown.conversationId);
      }
    },

    compares: {},
    async startCompare(m, opts) {
      const cur = get().compares[m.id];
      if (cur?.running) return;
      // another reply's comparison holds the engine: this one would queue behind it unseen
      const why = compareHold(get(), 'Compare modes', m.conversationId);
      if (why) {
        set({ compares: { ...get().compares, [m.id]: cur ? { ...cur, error: why } : failedJob(m.conversationId, why) } }); // an earlier result stays shown
        return;
      }
      set({
        compares: {
          ...get().compares,
          [m.id]: { jobId: null, conversationId: m.conversationId, running: true, done: 0, total: opts.repeats * 3, phase: 'starting', result: null, error: null },
        },
      });
      try {
        const r = await call('compare:start', { conversationId: m.conversationId, messageId: m.id, ...opts });
        const now = get().compares[m.id];
        // Events may have beaten the answer here: keep what they said.
        set({ compares: { ...get().compares, [m.id]: { ...now!, jobId: r.jobId, total: r.total } } });
      } catch (e) {
        set({
          compares: {
            ...get().compares,
            [m.id]: failedJob(m.conversationId, errorText(e)),
          },
        });
      }
    },
    async cancelCompare(messageId) {
      const job = get().compares[messageId];
      if (!job?.running || !job.jobId) return;
      try {
        await call('compare:cancel', { jobId: job.jobId });
      } catch (e) {
        get().pushError(`Could not cancel the comparison: ${errorText(e)}`);
      }
    },
    applyCompareEvent(e: CompareEvent) {
      const cur = get().compares[e.messageId] ?? { jobId: e.jobId, conversationId: e.conversationId, running: true, done: 0, total: 0, phase: 'starting', result: null, error: null };
      if (cur.jobId && cur.jobId !== e.jobId) return; // an older job's late event
      const next =
        e.type === 'compare-progress'
          ? { ...cur, jobId: e.jobId, running: true, done: e.done, total: e.total, phase: e.mode }
          : e.type === 'compare-done'
            ? { ...cur, jobId: e.jobId, running: false, done: e.result.runs.length, result: e.result, phase: e.result.cancelled ? 'cancelled' : 'done' }
            : { ...cur, jobId: e.jobId, running: false, phase: 'failed', error: e.message };
      set({ compares: { ...get().compares, [e.messageId]: next } });
      if (e.type === 'compare-done') void get().loadStoredTraces(); // its runs' traces, under Compare modes
    },

    abPin: null,
    pinA() {
      const src = get().source;
      const key = sourceKey(src);
      if (!src || !key || !get().buffers[key]) return;
      let label: string;
      let stats: AbStats | null;
      if (src.kind === 'message') {
        const list = get().messages[src.conversationId] ?? [];
        const m = list.find((x) => x.id === src.messageId);
        const k = list.filter((x) => x.role === 'assistant').findIndex((x) => x.id === src.messageId);
        const v = m?.versions ? ` v${m.versions.index + 1}/${m.versions.ids.length}` : '';
        label = `reply ${k + 1}${v}`;
        stats = m?.stats ?? get().traces[key]?.summary ?? null;
      } else {
        label = src.name;
        stats = get().traces[key]?.summary ?? null;
      }
      set({ abPin: { key, label, stats }, inspectorVersion: get().inspectorVersion + 1 });
    },
    unpinA() {
      set({ abPin: null, inspectorVersion: get().inspectorVersion + 1 });
    },
  };
};
