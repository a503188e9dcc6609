// Conversations: the sidebar list, the open one (remembered across reloads), create, rename,
// delete, per-conversation system prompt and settings, and the app events that change the list.
// Edits show at once and are saved in the background; a failed save restores the stored value and
// shows the error.
import type { Conversation } from '@shared/api';
import { applySettingsPatch, changedSettings, defaultChatSettings } from '@shared/settings';
import { call, errorText } from '../lib/client';
import type { ConversationsSlice, Slice } from './types';

const ACTIVE_KEY = 'clasp.activeConversation';

function byRecent(a: Conversation, b: Conversation): number {
  return b.updatedAt - a.updatedAt || b.createdAt - a.createdAt;
}

function rememberActive(id: string | null): void {
  try {
    if (id) localStorage.setItem(ACTIVE_KEY, id);
    else localStorage.removeItem(ACTIVE_KEY);
  } catch {
    /* no storage: the first conversation opens after a reload */
  }
}

function rememberedActive(): string | null {
  try {
    return localStorage.getItem(ACTIVE_KEY);
  } catch {
    return null;
  }
}

let loadingList: Promise<void> | null = null;

export const createConversationsSlice: Slice<ConversationsSlice> = (set, get) => {
  const replace = (c: Conversation) =>
    set({ conversations: get().conversations.map((x) => (x.id === c.id ? c : x)).sort(byRecent) });

  const loadList = async (): Promise<void> => {
    try {
      const list = (await call('conversations:list', {})).slice().sort(byRecent);
      set({ conversations: list, conversationsLoaded: true });
      const active = get().activeId;
      if (active && list.some((c) => c.id === active)) return;
      const remembered = rememberedActive();
      const pick = list.find((c) => c.id === remembered) ?? list[0] ?? null;
      // A first start opens a fresh chat, so the composer and its settings are there at once.
      if (!pick) {
        await get().newChat();
        return;
      }
      await get().selectConversation(pick.id);
    } catch (e) {
      set({ conversationsLoaded: true });
      get().pushError(`Could not load conversations: ${errorText(e)}`, null);
    }
  };

  return {
    conversations: [],
    conversationsLoaded: false,
    activeId: null,

    loadConversations() {
      // One load at a time (React's StrictMode runs start-up effects twice).
      loadingList ??= loadList().finally(() => {
        loadingList = null;
      });
      return loadingList;
    },

    async selectConversation(id) {
      set({ activeId: id });
      rememberActive(id);
      if (!id) return;
      if (!get().messages[id]) await get().loadMessages(id);
      // The inspector follows the open conversation unless a reply is streaming elsewhere or a trace was imported.
      const live = get().activeReply;
      const src = get().source;
      if (live && live.conversationId !== id) return;
      if (src?.kind === 'import') return;
      const msgs = get().messages[id] ?? [];
      const last = [...msgs].reverse().find((m) => m.role === 'assistant');
      if (last && (!src || src.kind !== 'message' || src.messageId !== last.id)) await get().inspectMessage(last);
      // A conversation with no reply (a new chat): another conversation's reply leaves the inspector.
      if (!last && src?.kind === 'message' && src.conversationId !== id) get().clearInspector();
    },

    async newChat() {
      try {
        // A chat with no messages yet is reused rather than adding another empty one; either way
        // the new chat starts from the defaults, not from the tuning of the one open now.
        const empty = get().conversations.find((c) => get().messages[c.id]?.length === 0 && get().sending !== c.id);
        const defaults = defaultChatSettings(get().modelDefaults ?? undefined);
        if (empty) {
          if (changedSettings(empty.settings, defaults).length) await get().updateSettings(empty.id, { ...defaults, skipRatio: null });
          await get().selectConversation(empty.id);
          return get().conversations.find((c) => c.id === empty.id) ?? empty;
        }
        const c = await call('conversations:create', {});
        set({ conversations: [c, ...get().conversations.filter((x) => x.id !== c.id)], messages: { ...get().messages, [c.id]: [] } });
        await get().selectConversation(c.id);
        return c;
      } catch (e) {
        get().pushError(`Could not create a conversation: ${errorText(e)}`, null);
        return null;
      }
    },

    async renameConversation(id, title) {
      const t = title.trim().slice(0, 200);
      const before = get().conversations.find((c) => c.id === id);
      if (!before || !t || t === before.title) return;
      replace({ ...before, title: t });
      try {
        replace(await call('conversations:update', { id, title: t }));
      } catch (e) {
        replace(before);
        get().pushError(`Could not rename: ${errorText(e)}`);
      }
    },

    async deleteConversation(id) {
      // Gone from the list at once; the backend stops a reply that is streaming there and keeps nothing of it.
      const before = get().conversations;
      const rest = before.filter((c) => c.id !== id);
      const wasActive = get().activeId === id;
      set({ conversations: rest });
      if (wasActive) await get().selectConversation(rest[0]?.id ?? null);
      try {
        await call('conversations:delete', { id });
      } catch (e) {
        set({ conversations: before });
        get().pushError(`Could not delete the conversation: ${errorText(e)}`);
        return;
      }
      const live = get().activeReply;
      const messages = { ...get().messages };
      const dropped = messages[id] ?? [];
      delete messages[id];
      const src = get().source;
      const showsDeleted = src?.kind === 'message' && src.conversationId === id;
      const buffers = { ...get().buffers };
      for (const m of dropped) delete buffers[m.id];
      set({
        messages,
        buffers,
        activeReply: live && live.conversationId === id ? null : live,
        sending: get().sending === id ? null : get().sending,
        ...(showsDeleted ? { source: null, selectedRound: null, hover: null, cursor: null, replaying: false } : {}),
        inspectorVersion: get().inspectorVersion + 1,
      });
      if (showsDeleted && get().activeId) await get().selectConversation(get().activeId);
    },

    async updateSystemPrompt(id, systemPrompt) {
      const before = get().conversations.find((c) => c.id === id);
      if (!before || before.systemPrompt === systemPrompt) return;
      replace({ ...before, systemPrompt });
      try {
        replace(await call('conversations:update', { id, systemPrompt }));
      } catch (e) {
        replace(before);
        get().pushError(`Could not save the system prompt: ${errorText(e)}`);
      }
    },

    applyAppEvent(e) {
      const list = get().conversations;
      switch (e.type) {
        case 'conversation-created':
          // The menu's New Chat: show it and open it.
          if (!list.some((c) => c.id === e.conversation.id)) set({ conversations: [e.conversation, ...list].sort(byRecent) });
          void get().selectConversation(e.conversation.id);
          break;
        case 'conversation-updated':
          // A title from the first message, a reply that ended; one deleted here stays deleted.
          if (list.some((c) => c.id === e.conversation.id)) replace(e.conversation);
          break;
        case 'conversation-deleted': {
          if (!list.some((c) => c.id === e.conversationId)) return; // deleted here: already gone
          const rest = list.filter((c) => c.id !== e.conversationId);
          set({ conversations: rest });
          if (get().activeId === e.conversationId) void get().selectConversation(rest[0]?.id ?? null);
          break;
        }
        case 'trace-imported':
          void get().showStoredTrace(e.traceId, e.name, { fromEvent: true }).then(() => get().loadStoredTraces());
          break;
        case 'compare-progress':
        case 'compare-done':
        case 'compare-error':
          get().applyCompareEvent(e);
          break;
      }
    },

    async updateSettings(id, patch) {
      const before = get().conversations.find((c) => c.id === id);
      if (!before) return;
      const next = applySettingsPatch(before.settings, patch);
      replace({ ...before, settings: next });
      try {
        const c = await call('conversations:update', { id, settings: patch });
        replace({ ...c, updatedAt: Math.max(c.updatedAt, before.updatedAt) });
      } catch (e) {
        replace(before);
        get().pushError(`Could not save the settings: ${errorText(e)}`);
      }
    },
  };
};
