// Messages per conversation and the reply being streamed: send, edit and resend, regenerate, stop,
// and the reply events (start, tokens, rounds, done, error) that the listeners hand over in
// batches, one state update per animation frame.
import type { Message, ReplyEvent, TokenFate } from '@shared/api';
import { client, errorText, type SendResult } from '../lib/client';
import type { ChatSlice, Slice } from './types';

let tempId = 0;

/** Piece texts per token, when a message or event carries them (an optional backend field). */
function piecesOf(x: unknown): string[] | undefined {
  const p = (x as { pieces?: unknown }).pieces;
  return Array.isArray(p) && p.every((s) => typeof s === 'string') ? (p as string[]) : undefined;
}

/**
 * Merges a fetched message list with what is on screen: the stored list wins, except for the reply
 * being streamed, whose live text may be ahead of the store.
 */
function merge(fetched: Message[], shown: Message[] | undefined, liveId: string | null): Message[] {
  if (!liveId || !shown) return fetched;
  const live = shown.find((m) => m.id === liveId);
  if (!live) return fetched;
  const i = fetched.findIndex((m) => m.id === liveId);
  if (i < 0) return [...fetched, live];
  const f = fetched[i];
  if (f.status !== 'streaming' || f.content.length >= live.content.length) return fetched;
  const out = fetched.slice();
  out[i] = { ...f, content: live.content, tokenIds: live.tokenIds, fates: live.fates };
  return out;
}

export const createChatSlice: Slice<ChatSlice> = (set, get) => {
  const setMessages = (conversationId: string, list: Message[]) => set({ messages: { ...get().messages, [conversationId]: list } });

  /**
   * Puts the stored user message (in place of the optimistic one) and the new reply into the list,
   * from what chat:send answered; false when the answer has no messages (then the list is fetched).
   */
  const placeReply = (conversationId: string, replaceId: string | null, r: SendResult | null): boolean => {
    const a = r?.assistantMessage;
    if (!a || typeof a !== 'object' || !('id' in a)) return false;
    let list = (get().messages[conversationId] ?? []).slice();
    const u = r?.userMessage;
    if (u && replaceId) {
      const i = list.findIndex((m) => m.id === replaceId);
      if (i >= 0) list[i] = u;
      else list.push(u);
    }
    const j = list.findIndex((m) => m.id === a.id);
    // The 'start' event may have placed the reply already, with text streamed since: keep that.
    if (j < 0) list.push(a);
    else list[j] = { ...a, ...list[j], note: a.note ?? list[j].note };
    // Anything after the reply (from an edit of an earlier turn) is gone.
    const k = list.findIndex((m) => m.id === a.id);
    list = list.slice(0, k + 1);
    setMessages(conversationId, list);
    // The first message names the conversation: show the new title now, not when the reply ends.
    client
      .listConversations()
      .then((convs) => convs.length && set({ conversations: convs.sort((x, y) => y.updatedAt - x.updatedAt) }))
      .catch(() => undefined);
    return true;
  };

  const refreshAfterReply = async (conversationId: string) => {
    if (get().conversations.some((c) => c.id === conversationId)) await get().loadMessages(conversationId);
    try {
      const convs = await client.listConversations();
      if (convs.length) set({ conversations: convs.sort((a, b) => b.updatedAt - a.updatedAt) });
    } catch {
      /* the list refreshes next time */
    }
  };

  return {
    messages: {},
    pieces: {},
    notices: {},
    activeReply: null,
    sending: null,

    async loadMessages(conversationId) {
      try {
        const list = await client.listMessages(conversationId);
        const pieces = { ...get().pieces };
        for (const m of list) {
          const p = piecesOf(m);
          if (p) pieces[m.id] = p;
        }
        const live = get().activeReply;
        setMessages(conversationId, merge(list, get().messages[conversationId], live?.conversationId === conversationId ? live.messageId : null));
        // A reply that finished before this list was fetched: nothing is pending any more.
        const last = list[list.length - 1];
        const settled = get().sending === conversationId && !live && last?.role === 'assistant' && last.status !== 'streaming';
        set({ pieces, ...(settled ? { sending: null } : {}) });
      } catch (e) {
        // A conversation deleted meanwhile (here or elsewhere) has nothing to load: no error for that.
        if (!get().conversations.some((c) => c.id === conversationId)) return;
        get().pushError(`Could not load messages: ${errorText(e)}`);
      }
    },

    async send(content) {
      let convId = get().activeId;
      if (!convId) {
        const c = await get().newChat();
        if (!c) return false;
        convId = c.id;
      }
      const temp: Message = {
        id: `pending-${++tempId}`,
        conversationId: convId,
        role: 'user',
        content,
        status: 'complete',
        createdAt: Date.now(),
      };
      const before = get().messages[convId] ?? [];
      setMessages(convId, [...before, temp]);
      set({ sending: convId });
      let r: SendResult | null;
      try {
        r = await client.send({ conversationId: convId, content });
      } catch (e) {
        setMessages(convId, (get().messages[convId] ?? []).filter((m) => m.id !== temp.id));
        set({ sending: null });
        get().pushError(errorText(e));
        return false;
      }
      if (!placeReply(convId, temp.id, r)) await get().loadMessages(convId);
      return true;
    },

    async editAndResend(messageId, content) {
      const convId = get().activeId;
      if (!convId) return false;
      const list = get().messages[convId] ?? [];
      const i = list.findIndex((m) => m.id === messageId);
      if (i < 0) return false;
      const previous = list;
      setMessages(convId, [...list.slice(0, i), { ...list[i], content }]);
      set({ sending: convId });
      let r: SendResult | null;
      try {
        r = await client.send({ conversationId: convId, content, editOf: messageId });
      } catch (e) {
        setMessages(convId, previous);
        set({ sending: null });
        get().pushError(errorText(e));
        return false;
      }
      if (!placeReply(convId, messageId, r)) await get().loadMessages(convId);
      return true;
    },

    async regenerate() {
      const convId = get().activeId;
      if (!convId) return;
      const list = get().messages[convId] ?? [];
      const previous = list;
      const last = list[list.length - 1];
      if (last?.role === 'assistant') setMessages(convId, list.slice(0, -1));
      set({ sending: convId });
      let r: SendResult | null;
      try {
        r = await client.regenerate(convId);
      } catch (e) {
        setMessages(convId, previous);
        set({ sending: null });
        get().pushError(errorText(e));
        return;
      }
      if (!placeReply(convId, null, r)) await get().loadMessages(convId);
    },

    async stop() {
      const live = get().activeReply;
      const convId = live?.conversationId ?? get().sending ?? get().activeId;
      if (!convId) return;
      try {
        await client.stop(convId);
      } catch (e) {
        get().pushError(`Could not stop: ${errorText(e)}`);
      }
    },

    applyReplyEvents(events) {
      // Collect everything first, then one set(): a frame's worth of events is one render.
      const messages = { ...get().messages };
      const pieces = get().pieces;
      let piecesCopy: Record<string, string[]> | null = null;
      let notices = get().notices;
      let activeReply = get().activeReply;
      let sending = get().sending;
      const finished: string[] = [];
      const started: { conversationId: string; messageId: string }[] = [];
      const touched = new Set<string>();

      const findConv = (messageId: string): string | null => {
        if (activeReply?.messageId === messageId) return activeReply.conversationId;
        for (const [cid, list] of Object.entries(messages)) if (list.some((m) => m.id === messageId)) return cid;
        return null;
      };
      const update = (messageId: string, fn: (m: Message) => Message) => {
        const cid = findConv(messageId);
        if (!cid) return;
        const list = messages[cid];
        if (!list) return;
        const i = list.findIndex((m) => m.id === messageId);
        if (i < 0) return;
        if (!touched.has(cid)) {
          messages[cid] = list.slice();
          touched.add(cid);
        }
        messages[cid][i] = fn(messages[cid][i]);
      };

      for (const e of events) {
        switch (e.type) {
          case 'start': {
            activeReply = { conversationId: e.conversationId, messageId: e.messageId };
            if (sending === e.conversationId) sending = null;
            const list = messages[e.conversationId];
            // (a conversation not loaded here, e.g. one another window writes to, loads in full when opened)
            if (list && !list.some((m) => m.id === e.messageId)) {
              messages[e.conversationId] = [
                ...list,
                { id: e.messageId, conversationId: e.conversationId, role: 'assistant', content: '', status: 'streaming', createdAt: Date.now(), tokenIds: [], fates: [] },
              ];
              touched.add(e.conversationId);
            } else {
              update(e.messageId, (m) => ({ ...m, status: 'streaming' }));
            }
            if (e.droppedTurns > 0) {
              notices = {
                ...notices,
                [e.messageId]: `The conversation is longer than the model's context: the ${e.droppedTurns === 1 ? 'oldest turn was' : `${e.droppedTurns} oldest turns were`} left out of this reply's prompt (the system prompt was kept).`,
              };
            }
            started.push(e);
            break;
          }
          case 'tokens': {
            update(e.messageId, (m) => ({
              ...m,
              content: m.content + e.text,
              tokenIds: [...(m.tokenIds ?? []), ...e.ids],
              fates: [...(m.fates ?? []), ...(e.fates as TokenFate[])],
            }));
            const p = piecesOf(e);
            if (p) {
              piecesCopy ??= { ...pieces };
              piecesCopy[e.messageId] = [...(piecesCopy[e.messageId] ?? []), ...p];
            }
            break;
          }
          case 'rounds':
            get().appendRounds(e.messageId, e.rounds);
            break;
          case 'done': {
            update(e.messageId, (m) => ({
              ...m,
              status: e.finishReason === 'cancelled' ? 'cancelled' : 'complete',
              stats: e.stats,
              traceId: e.traceId ?? m.traceId,
            }));
            const cid = findConv(e.messageId);
            if (activeReply?.messageId === e.messageId) activeReply = null;
            if (cid) finished.push(cid);
            break;
          }
          case 'error': {
            update(e.messageId, (m) => ({ ...m, status: 'error', error: e.message }));
            const cid = findConv(e.messageId);
            if (activeReply?.messageId === e.messageId) activeReply = null;
            if (cid && sending === cid) sending = null;
            get().pushError(e.message);
            if (cid) finished.push(cid);
            break;
          }
        }
      }
      set({ messages, notices, activeReply, sending, ...(piecesCopy ? { pieces: piecesCopy } : {}) });
      // The inspector turns to a reply as it starts (its rounds arrive later, or never in plain decoding).
      for (const st of started) if (activeReply?.messageId === st.messageId) get().followLive(st.messageId, st.conversationId);
      for (const cid of new Set(finished)) void refreshAfterReply(cid);
    },
  };
};
