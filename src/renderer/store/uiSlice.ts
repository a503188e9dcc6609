// Layout and display preferences (kept in localStorage), the error banner and the toast.
import type { SimScale, Slice, Theme, UiSlice } from './types';

const KEY = 'clasp.ui';

interface Saved {
  theme?: Theme;
  inspectorOpen?: boolean;
  showFates?: boolean;
  settingsOpen?: boolean;
  simScale?: SimScale;
}

function load(): Saved {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '{}') as Saved;
  } catch {
    return {};
  }
}

function save(s: Saved): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...load(), ...s }));
  } catch {
    /* storage may be unavailable; preferences then last for the session */
  }
}

let nextErrorId = 1;
let toastTimer: ReturnType<typeof setTimeout> | null = null;

export const createUiSlice: Slice<UiSlice> = (set, get) => {
  const saved = load();
  return {
    theme: saved.theme ?? 'system',
    inspectorOpen: saved.inspectorOpen ?? true,
    settingsOpen: saved.settingsOpen ?? false,
    showFates: saved.showFates ?? false,
    simScale: saved.simScale === 'fixed' || saved.simScale === 'log' ? saved.simScale : 'reply',
    errors: [],
    toast: null,
    setTheme(theme) {
      save({ theme });
      set({ theme });
    },
    toggleInspector(open) {
      const inspectorOpen = open ?? !get().inspectorOpen;
      save({ inspectorOpen });
      set({ inspectorOpen });
    },
    toggleSettings(open) {
      const settingsOpen = open ?? !get().settingsOpen;
      save({ settingsOpen });
      set({ settingsOpen });
    },
    setShowFates(showFates) {
      save({ showFates });
      set({ showFates });
    },
    setSimScale(simScale) {
      save({ simScale });
      set({ simScale });
    },
    pushError(text, conversationId) {
      const cid = conversationId === undefined ? get().activeId : conversationId;
      // the same message twice in a row is one banner
      const errs = get().errors;
      const last = errs[errs.length - 1];
      if (last && last.text === text && last.conversationId === cid) return;
      set({ errors: [...errs.slice(-4), { id: nextErrorId++, text, conversationId: cid }] });
    },
    dismissError(id) {
      // without an id: the errors the open conversation shows (its own and app-wide ones)
      const active = get().activeId;
      set({ errors: get().errors.filter((e) => (id === undefined ? e.conversationId !== null && e.conversationId !== active : e.id !== id)) });
    },
    drafts: {},
    setDraft(conversationId, text) {
      if ((get().drafts[conversationId] ?? '') === text) return;
      const drafts = { ...get().drafts };
      if (text) drafts[conversationId] = text;
      else delete drafts[conversationId];
      set({ drafts });
    },
    showToast(text) {
      if (toastTimer) clearTimeout(toastTimer);
      set({ toast: text });
      toastTimer = setTimeout(() => set({ toast: null }), 4000);
    },
  };
};
