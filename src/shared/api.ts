// The app's API: one channel map shared by the Electron preload (IPC) and the browser client (HTTP +
// server-sent events against `clasp serve`). Every request payload is validated with these zod
// schemas in the main process / server before use.
import { z } from 'zod';
import type { GenerationStats, ModelInfo, RoundEvent, FinishReason } from './engineTypes';

export const settingsSchema = z.object({
  mode: z.enum(['ar', 'clasp', 'static']),
  skip: z.union([z.literal('auto'), z.number().int().min(0).max(1023)]),
  skipRatio: z.number().min(0).max(0.99).optional(),
  det: z.number().min(0).max(1),
  maxDraft: z.number().int().min(1).max(64),
  loi: z.number().int().min(1).max(100000),
  temperature: z.number().min(0).max(100),
  topP: z.number().gt(0).max(1),
  topK: z.number().int().min(0).max(1_000_000),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  maxTokens: z.number().int().min(1).max(100_000),
});
export type ChatSettings = z.infer<typeof settingsSchema>;

export interface Conversation {
  id: string;
  title: string;
  systemPrompt: string;
  settings: ChatSettings;
  createdAt: number;
  updatedAt: number;
}

export type MessageStatus = 'complete' | 'streaming' | 'interrupted' | 'error' | 'cancelled';

export interface Message {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: MessageStatus;
  createdAt: number;
  /** assistant replies: the settings they ran with, their stats, token ids and per-token fate */
  settings?: ChatSettings;
  stats?: GenerationStats;
  tokenIds?: number[];
  /** per generated token: 'accepted' (an accepted draft), 'correction', 'bonus', or 'plain' (ar) */
  fates?: TokenFate[];
  traceId?: string;
  error?: string;
}

export type TokenFate = 'accepted' | 'correction' | 'bonus' | 'plain';

/** Events streamed while a reply is generated (IPC 'reply:event' or SSE on /api/ui/events). */
export type ReplyEvent =
  | { type: 'start'; conversationId: string; messageId: string; promptTokens: number; droppedTurns: number }
  | { type: 'tokens'; messageId: string; text: string; ids: number[]; fates: TokenFate[] }
  | { type: 'rounds'; messageId: string; rounds: RoundEvent[] }
  | { type: 'done'; messageId: string; finishReason: FinishReason; stats: GenerationStats; traceId: string | null }
  | { type: 'error'; messageId: string; message: string };

export type ModelEvent =
  | { type: 'progress'; path: string; fraction: number; message: string }
  | { type: 'loaded'; info: ModelInfo }
  | { type: 'error'; message: string };

export const idSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

/** Request payloads, validated on receipt. */
export const requests = {
  'conversations:list': z.object({}),
  'conversations:create': z.object({ title: z.string().max(200).optional(), systemPrompt: z.string().max(20_000).optional(), settings: settingsSchema.partial().optional() }),
  'conversations:update': z.object({ id: idSchema, title: z.string().min(1).max(200).optional(), systemPrompt: z.string().max(20_000).optional(), settings: settingsSchema.partial().optional() }),
  'conversations:delete': z.object({ id: idSchema }),
  'messages:list': z.object({ conversationId: idSchema }),
  /** Sends a user message (or regenerates / edits) and starts streaming the reply. */
  'chat:send': z.object({ conversationId: idSchema, content: z.string().min(1).max(200_000), editOf: idSchema.optional() }),
  'chat:regenerate': z.object({ conversationId: idSchema }),
  'chat:stop': z.object({ conversationId: idSchema }),
  'models:list': z.object({}),
  'models:load': z.object({ path: z.string().min(1).max(4096) }),
  'models:current': z.object({}),
  'trace:get': z.object({ traceId: idSchema }),
  'trace:import': z.object({ text: z.string().max(200 * 1024 * 1024) }),
  'export:chat': z.object({ conversationId: idSchema, format: z.enum(['markdown', 'json']) }),
  'export:trace': z.object({ traceId: idSchema, format: z.enum(['json', 'specbench', 'csv']) }),
} as const;

export type Channel = keyof typeof requests;
export type RequestOf<C extends Channel> = z.infer<(typeof requests)[C]>;

/** What the renderer can call: the preload and the browser client both implement this. */
export interface ClaspApi {
  call<C extends Channel>(channel: C, payload: RequestOf<C>): Promise<unknown>;
  onReplyEvent(cb: (e: ReplyEvent) => void): () => void;
  onModelEvent(cb: (e: ModelEvent) => void): () => void;
  /** Where the app runs: 'electron' (save dialogs) or 'browser' (downloads). */
  readonly shell: 'electron' | 'browser';
}
