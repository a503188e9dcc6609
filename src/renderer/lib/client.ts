// The renderer's typed view of the app API. `../api` (written by the API engineer) exports the
// ClaspApi instance that talks IPC in Electron and HTTP + SSE in a browser; `call` returns unknown,
// so this file states what each channel answers and normalises the few shapes that may vary.
import * as apiModule from '../api';
import type { ClaspApi, Conversation, Message, ModelListItem, RequestOf } from '@shared/api';
import type { ModelInfo } from '@shared/engineTypes';
import type { Trace } from '@shared/trace';

export type { ModelListItem };

export interface SamplingDefaults {
  temperature: number;
  topP: number;
  topK: number;
}

/** What chat:send and chat:regenerate answer (regenerate has no userMessage). */
export interface SendResult {
  userMessage?: Message;
  assistantMessage?: Message;
  promptTokens?: number;
  droppedTurns?: number;
}

/** What an export call answers: text to download (browser) or where the save dialog wrote it. */
export interface ExportResult {
  text?: string;
  filename?: string;
  mime?: string;
  savedTo?: string;
  cancelled?: boolean;
}

function resolveApi(): ClaspApi {
  const m = apiModule as unknown as Record<string, unknown>;
  const found = (m.api ?? m.claspApi ?? m.default) as ClaspApi | undefined;
  if (!found || typeof found.call !== 'function') {
    throw new Error('src/renderer/api does not export the ClaspApi instance (expected `api` or a default export)');
  }
  return found;
}

export const api: ClaspApi = resolveApi();

function listOf<T>(v: unknown, key: string): T[] {
  if (Array.isArray(v)) return v as T[];
  if (v && typeof v === 'object' && Array.isArray((v as Record<string, unknown>)[key])) return (v as Record<string, T[]>)[key];
  return [];
}

function objectOf<T>(v: unknown, key: string): T {
  if (v && typeof v === 'object' && key in (v as object)) return (v as Record<string, T>)[key];
  return v as T;
}

function exportResult(v: unknown): ExportResult {
  if (typeof v === 'string') return { text: v };
  if (!v || typeof v !== 'object') return { cancelled: true };
  const o = v as Record<string, unknown>;
  return {
    text: typeof o.text === 'string' ? o.text : typeof o.content === 'string' ? o.content : typeof o.data === 'string' ? o.data : undefined,
    filename: typeof o.filename === 'string' ? o.filename : typeof o.name === 'string' ? o.name : undefined,
    mime: typeof o.mimeType === 'string' ? o.mimeType : typeof o.mime === 'string' ? o.mime : undefined,
    savedTo: typeof o.savedTo === 'string' ? o.savedTo : typeof o.path === 'string' ? o.path : undefined,
    cancelled: o.cancelled === true || o.canceled === true,
  };
}

export const client = {
  shell: (): 'electron' | 'browser' => api.shell,
  listConversations: async () => listOf<Conversation>(await api.call('conversations:list', {}), 'conversations'),
  createConversation: async (p: RequestOf<'conversations:create'>) =>
    objectOf<Conversation>(await api.call('conversations:create', p), 'conversation'),
  updateConversation: async (p: RequestOf<'conversations:update'>) =>
    objectOf<Conversation | undefined>(await api.call('conversations:update', p), 'conversation'),
  deleteConversation: async (id: string) => {
    await api.call('conversations:delete', { id });
  },
  listMessages: async (conversationId: string) => listOf<Message>(await api.call('messages:list', { conversationId }), 'messages'),
  send: async (p: RequestOf<'chat:send'>) => (await api.call('chat:send', p)) as SendResult | null,
  regenerate: async (conversationId: string) => (await api.call('chat:regenerate', { conversationId })) as SendResult | null,
  stop: (conversationId: string) => api.call('chat:stop', { conversationId }),
  listModels: async () => listOf<ModelListItem>(await api.call('models:list', {}), 'models'),
  loadModel: async (path: string) => objectOf<ModelInfo | null>(await api.call('models:load', { path }), 'info'),
  currentModel: async (): Promise<{ info: ModelInfo; defaults: SamplingDefaults | null } | null> => {
    const v = await api.call('models:current', {});
    const info = objectOf<ModelInfo | null>(v, 'info');
    if (!info || typeof info !== 'object' || !('nLayer' in info)) return null;
    const d = v && typeof v === 'object' && 'defaults' in v ? ((v as { defaults: SamplingDefaults }).defaults ?? null) : null;
    return { info, defaults: d };
  },
  getTrace: async (traceId: string) => objectOf<Trace>(await api.call('trace:get', { traceId }), 'trace'),
  exportChat: async (conversationId: string, format: 'markdown' | 'json') => exportResult(await api.call('export:chat', { conversationId, format })),
  exportTrace: async (traceId: string, format: 'json' | 'specbench' | 'csv') => exportResult(await api.call('export:trace', { traceId, format })),
};

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
