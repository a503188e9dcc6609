// The renderer's one client for the app API (src/shared/api.ts): `call(channel, payload)` resolves
// to that channel's ResponseOf<C>, and the three event streams. In Electron it talks to the
// preload's `window.clasp` (IPC); in a browser, HTTP + SSE against `clasp serve` (httpClient.ts).
import type { AppEvent, Channel, ClaspApi, ModelEvent, PreloadApi, ReplyEvent, RequestOf, ResponseOf } from '@shared/api';
import { ClaspApiError, createHttpClient } from './httpClient';

declare global {
  interface Window {
    clasp?: PreloadApi;
  }
}

/** The preload's API as a ClaspApi: its {ok: false} answers become ClaspApiErrors (code and status kept). */
export function fromPreload(p: PreloadApi): ClaspApi {
  return {
    shell: 'electron',
    async call(channel, payload) {
      const r = await p.invoke(channel, payload);
      if (!r.ok) throw new ClaspApiError(r.error.message, r.error.code, r.error.status);
      return r.result as ResponseOf<typeof channel>;
    },
    onReplyEvent: (cb) => p.onReplyEvent(cb),
    onModelEvent: (cb) => p.onModelEvent(cb),
    onAppEvent: (cb) => p.onAppEvent(cb),
  };
}

const TOKEN_KEY = 'clasp-ui-token';

/**
 * The UI token, in one place: from the URL `clasp serve` printed (?token=), kept in this tab's
 * sessionStorage, sent as a header (httpClient.ts). It stays in the address bar too, because the
 * server gives the page itself only with the token, so a reload needs it there.
 */
function uiToken(): string | undefined {
  if (typeof location === 'undefined') return undefined;
  let stored: string | null = null;
  try {
    stored = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the URL's token still works for this page */
  }
  const fromUrl = new URL(location.href).searchParams.get('token');
  if (fromUrl && fromUrl !== stored) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
    } catch {
      /* as above */
    }
  }
  return fromUrl ?? stored ?? undefined;
}

function choose(): ClaspApi {
  if (typeof window !== 'undefined' && window.clasp) return fromPreload(window.clasp);
  return createHttpClient({ token: uiToken() });
}

const api: ClaspApi = choose();

/** 'electron' (native dialogs) or 'browser' (`clasp serve`: the app's own Open model… dialog, downloads). */
export const appShell = api.shell;

export function call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> {
  return api.call(channel, payload);
}

export const onReplyEvent = (cb: (e: ReplyEvent) => void) => api.onReplyEvent(cb);
export const onModelEvent = (cb: (e: ModelEvent) => void) => api.onModelEvent(cb);
export const onAppEvent = (cb: (e: AppEvent) => void) => api.onAppEvent(cb);

/** A failure's message for the user (a ClaspApiError's, or any thrown value's). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

export { ClaspApiError };
