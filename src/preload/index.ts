// The preload script (sandboxed, context-isolated): exposes `window.clasp`, the small PreloadApi of
// src/shared/api.ts. The renderer gets no ipcRenderer and no Node: only `invoke` for the channels in
// the map, and subscriptions to reply, model and app events. src/renderer/lib/client.ts turns
// `invoke`'s {ok, result | error} into a typed `call` that throws.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC, requests, type Channel, type IpcResult, type PreloadApi, type RequestOf } from '../shared/api';

const CHANNELS: ReadonlySet<string> = new Set(Object.keys(requests));

function subscribe<T>(ipcChannel: string, cb: (e: T) => void): () => void {
  if (typeof cb !== 'function') throw new TypeError('expected a callback');
  // The renderer never sees the IpcRendererEvent (it carries the sender).
  const listener = (_e: IpcRendererEvent, data: T) => cb(data);
  ipcRenderer.on(ipcChannel, listener);
  return () => {
    ipcRenderer.removeListener(ipcChannel, listener);
  };
}

const api: PreloadApi = {
  shell: 'electron',
  async invoke<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<IpcResult> {
    if (typeof channel !== 'string' || !CHANNELS.has(channel)) {
      return { ok: false, error: { message: `unknown channel ${JSON.stringify(channel)}`, code: 'unknown_channel', status: 404 } };
    }
    return (await ipcRenderer.invoke(IPC.call, channel, payload)) as IpcResult;
  },
  onReplyEvent: (cb) => subscribe(IPC.replyEvent, cb),
  onModelEvent: (cb) => subscribe(IPC.modelEvent, cb),
  onAppEvent: (cb) => subscribe(IPC.appEvent, cb),
};

contextBridge.exposeInMainWorld('clasp', api);
