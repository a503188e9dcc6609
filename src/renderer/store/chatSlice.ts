// Messages per conversation and the reply being streamed: send, edit and resend, regenerate, stop,
// and the reply events (start, tokens, rounds, done, error) that the listeners hand over in
// batches, one state update per animation frame. The events build the reply; 'done' is final, so
// nothing is fetched again after it (the conversation list follows 'conversation-updated').
import type { Message, ResponseOf } from '@shared/api';
import { call, errorText } from '../lib/client';
import { compareHold } from './studioSlice';
import type { ChatSlice, Slice } from './types';

let tempId = 0;

type Started = ResponseOf<'chat:send'> | ResponseOf<'chat:regenerate'>;

export const createChatSlice: Slice<ChatSlice> = (set, get) => {
  const setMessages = (conversationId: string, list: Message[]) => set({ messages: { ...get().messages, [conversationId]: list } });

  /**
   * Puts the stored user message (in place of the optimistic one, `replaceId`) and the new reply
   * into the list, from what chat:send or chat:regenerate answered. The 'start' event may have
   * placed the reply already, with text streamed since: that copy is kept.
   */
  const placeReply = (conversationId: string, replaceId: string | null, r: Started) => {
    const a = r.assistantMessage;
    const list = (get().messages[conversationId] ?? []).slice();
    if ('userMessage' in r && replaceId) {
      const i = list.findIndex((m) => m.id === replaceId);
      if (i >= 0) list[i] = r.userMessage;
      else list.push(r.userMessage);
    }
    const j = list.findIndex((m) => m.id === a.id);
    if (j < 0) list.push(a);
    else list[j] = { ...a, ...list[j] };
    // Anything after the reply (from an edit of an earlier turn) is gone.
    setMessages(conversationId, list.slice(0, list.findIndex((m) => m.id === a.id) + 1));
  };

  /** While a comparison holds the engine, `action` would wait unseen or be refused: say why instead. */
  const heldBack = (action: string, convId: string | null): boolean => {
    const why = compareHold(get(), action, convId);
    if (why) get().pushError(why, convId);
    return why !== null;
  };

  return {
    messages: {},
    activeReply: null,
    sending: null,

    async loadMessages(conversationId) {
      try {
        setMessages(conversationId, await call('messages:list', { conversationId }));
      } catch (e) {
        // A conversation deleted meanwhile (here or elsewhere) has nothing to load: no error for that.
        if (!get().conversations.some((c) => c.id === conversationId)) return;
        get().pushError(`Could not load messages: ${errorText(e)}`);
      }
    },

    async send(content) {
      let convId = get().activeId;
      if (heldBack('Send', convId)) return false;
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
      let r: Started;
      try {
        r = await call('chat:send', { conversationId: convId, content });
      } catch (e) {
        setMessages(convId, (get().messages[convId] ?? []).filter((m) => m.id !== temp.id));
        set({ sending: null });
        get().pushError(errorText(e), convId);
        return false;
      }
      placeReply(convId, temp.id, r);
      return true;
    },

    async editAndResend(messageId, content) {
      const convId = get().activeId;
      if (!convId || heldBack('Edit & resend', convId)) return false;
      const list = get().messages[convId] ?? [];
      const i = list.findIndex((m) => m.id === messageId);
      if (i < 0) return false;
      const previous = list;
      setMessages(convId, [...list.slice(0, i), { ...list[i], content }]);
      set({ sending: convId });
      let r: Started;
      try {
        r = await call('chat:send', { conversationId: convId, content, editOf: messageId });
      } catch (e) {
        setMessages(convId, previous);
        set({ sending: null });
        get().pushError(errorText(e));
        return false;
      }
      placeReply(convId, messageId, r);
      return true;
    },

    async regenerate(opts) {
      const convId = get().activeId;
      if (!convId || heldBack(opts?.tryAnyway ? 'Try it anyway' : 'Regenerate', convId)) return;
      const list = get().messages[convId] ?? [];
      const previous = list;
      const last = list[list.length - 1];
      if (last?.role === 'assistant') setMessages(convId, list.slice(0, -1));
      set({ sending: convId });
      let r: Started;
      try {
        r = await call('chat:regenerate', { conversationId: convId, ...(opts?.tryAnyway ? { tryAnyway: true } : {}) });
      } catch (e) {
        setMessages(convId, previous);
        set({ sending: null });
        get().pushError(errorText(e));
        return;
      }
      placeReply(convId, null, r);
    },

    async stop() {
      const live = get().activeReply;
      const convId = live?.conversationId ?? get().sending ?? get().activeId;
      if (!convId) return;
      try {
        await call('chat:stop', { conversationId: convId });
      } catch (e) {
        get().pushError(`Could not stop: ${errorText(e)}`);
      }
    },

    applyReplyEvents(events) {
      // Collect everything first, then one set(): a frame's worth of events is one render.
      const messages = { ...get().messages };
      let activeReply = get().activeReply;
      let sending = get().sending;
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
                { id: e.messageId, conversationId: e.conversationId, role: 'assistant', content: '', status: 'streaming', createdAt: Date.now(), tokenIds: [], fates: [], pieces: [] },
              ];
              touched.add(e.conversationId);
            } else {
              update(e.messageId, (m) => ({ ...m, status: 'streaming' }));
            }
            if (e.note) update(e.messageId, (m) => ({ ...m, note: e.note }));
            started.push(e);
            break;
          }
          case 'tokens': {
            update(e.messageId, (m) => ({
              ...m,
              content: m.content + e.text,
              tokenIds: [...(m.tokenIds ?? []), ...e.ids],
              fates: [...(m.fates ?? []), ...e.fates],
              ...(e.pieces ? { pieces: [...(m.pieces ?? []), ...e.pieces] } : {}),
            }));
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
              ...(e.note ? { note: e.note } : {}),
            }));
            if (activeReply?.messageId === e.messageId) activeReply = null;
            break;
          }
          case 'error': {
            update(e.messageId, (m) => ({ ...m, status: 'error', error: e.message }));
            const cid = findConv(e.messageId);
            if (activeReply?.messageId === e.messageId) activeReply = null;
            if (cid && sending === cid) sending = null;
            get().pushError(e.message, cid ?? undefined);
            break;
          }
        }
      }
      set({ messages, activeReply, sending });
      // The inspector turns to a reply as it starts (its rounds arrive later, or never in plain decoding).
      for (const st of started) if (activeReply?.messageId === st.messageId) get().followLive(st.messageId, st.conversationId);
    },
  };
};
