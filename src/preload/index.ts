// The preload script (sandboxed, context-isolated): exposes `window.clasp`, a small typed ClaspApi
// over IPC. The renderer gets no ipcRenderer and no Node: only `call` for the channels in the
// map (src/shared/api.ts), and subscriptions to reply, model and app events.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC, requests, type AppEvent, type Channel, type ClaspApi, type IpcResult, type ModelEvent, type ReplyEvent, type RequestOf } from '../shared/api';

const CHANNELS: ReadonlySet<string> = new Set(Object.keys(requests));

class ClaspApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ClaspApiError';
  }
}

function subscribe<T>(ipcChannel: string, cb: (e: T) => void): () => void {
  if (typeof cb !== 'function') throw new TypeError('expected a callback');
  // The renderer never sees the IpcRendererEvent (it carries the sender).
  const listener = (_e: IpcRendererEvent, data: T) => cb(data);
  ipcRenderer.on(ipcChannel, listener);
  return () => {
    ipcRenderer.removeListener(ipcChannel, listener);
  };
}

async function invoke(channel: unknown, payload: unknown): Promise<IpcResult> {
  if (typeof channel !== 'string' || !CHANNELS.has(channel)) {
    return { ok: false, error: { message: `unknown channel ${JSON.stringify(channel)}`, code: 'unknown_channel', status: 404 } };
  }
  return (await ipcRenderer.invoke(IPC.call, channel, payload)) as IpcResult;
}

/**
 * `call` throws on failure, but Errors lose their own fields crossing the context bridge; so
 * `invoke` is exposed too: it never throws and returns {ok, result | error: {message, code, status}}.
 * src/renderer/api/index.ts builds its ClaspApi on `invoke`, keeping `code` and `status`.
 */
const api: ClaspApi & { invoke: typeof invoke } = {
  shell: 'electron',
  invoke,
  async call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<unknown> {
    const r = await invoke(channel, payload);
    if (!r.ok) throw new ClaspApiError(r.error.message, r.error.code, r.error.status);
    return r.result;
  },
  onReplyEvent: (cb: (e: ReplyEvent) => void) => subscribe(IPC.replyEvent, cb),
  onModelEvent: (cb: (e: ModelEvent) => void) => subscribe(IPC.modelEvent, cb),
  onAppEvent: (cb: (e: AppEvent) => void) => subscribe(IPC.appEvent, cb),
};

contextBridge.exposeInMainWorld('clasp', api);
