// The renderer's ClaspApi: the preload's `window.clasp` (IPC) in Electron, else the HTTP + SSE
// client against `clasp serve`. No Node imports here.
import type { AppEvent, Channel, ClaspApi, IpcResult, RequestOf, ResponseOf } from '../../shared/api';
import { ClaspApiError, createHttpClient } from './httpClient';

/** What src/preload/index.ts exposes as `window.clasp` in Electron. */
export type PreloadApi = ClaspApi & { invoke?(channel: string, payload: unknown): Promise<IpcResult> };

declare global {
  interface Window {
    clasp?: PreloadApi;
  }
}

/** The preload's API, with failures as ClaspApiError (code and status kept: Errors lose them crossing the bridge). */
function fromPreload(p: PreloadApi): ClaspApi {
  const invoke = p.invoke;
  if (typeof invoke !== 'function') return p;
  return {
    shell: 'electron',
    async call(channel, payload) {
      const r = await invoke(channel, payload);
      if (!r.ok) throw new ClaspApiError(r.error.message, r.error.code, r.error.status);
      return r.result;
    },
    onReplyEvent: (cb) => p.onReplyEvent(cb),
    onModelEvent: (cb) => p.onModelEvent(cb),
    onAppEvent: (cb) => (p.onAppEvent ? p.onAppEvent(cb) : () => {}),
  };
}

const TOKEN_KEY = 'clasp-ui-token';

/**
 * The UI token: from the URL `clasp serve` printed (?token=), kept in this tab's sessionStorage.
 * It stays in the address bar too, because the server gives the page itself only with the token,
 * so a reload needs it there.
 */
function uiToken(): string | undefined {
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
  if (typeof window !== 'undefined' && window.clasp && typeof window.clasp.call === 'function') return fromPreload(window.clasp);
  const token = typeof location !== 'undefined' && typeof sessionStorage !== 'undefined' ? uiToken() : undefined;
  return createHttpClient({ token });
}

export const api: ClaspApi = choose();
export default api;

/** `api.call` with the channel's response type (see `Responses` in src/shared/api.ts). */
export function call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> {
  return api.call(channel, payload) as Promise<ResponseOf<C>>;
}

/** App events (menu actions, list changes); a no-op where the implementation has none. */
export function onAppEvent(cb: (e: AppEvent) => void): () => void {
  return api.onAppEvent ? api.onAppEvent(cb) : () => {};
}

export { ClaspApiError, createHttpClient };
