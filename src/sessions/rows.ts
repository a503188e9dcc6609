// The rows as SQLite stores them, and their mapping to the API's objects (JSON columns parsed,
// absent values left out).
import type { ChatSettings, Conversation, Message, MessageStatus, TokenFate } from '../shared/api';
import type { GenerationStats } from '../shared/engineTypes';

export interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  role: Message['role'];
  content: string;
  status: MessageStatus;
  created_at: number;
  updated_at: number;
  settings: string | null;
  stats: string | null;
  token_ids: string | null;
  fates: string | null;
  trace_id: string | null;
  error: string | null;
  note: string | null;
  dropped_turns: number | null;
  model: string | null;
  pieces: string | null;
  reply_group: string | null;
  selected: number;
}

export function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

function parseJson<T>(s: string | null): T | undefined {
  if (s === null) return undefined;
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
}

export function toConversation(r: ConversationRow): Conversation {
  return {
    id: r.id,
    title: r.title,
    systemPrompt: r.system_prompt,
    settings: parseJson<ChatSettings>(r.settings)!,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toMessage(r: MessageRow): Message {
  const m: Message = {
    id: r.id,
    conversationId: r.conversation_id,
    role: r.role,
    content: r.content,
    status: r.status,
    createdAt: r.created_at,
  };
  const settings = parseJson<ChatSettings>(r.settings);
  if (settings) m.settings = settings;
  const stats = parseJson<GenerationStats>(r.stats);
  if (stats) m.stats = stats;
  const ids = parseJson<number[]>(r.token_ids);
  if (ids) m.tokenIds = ids;
  const fates = parseJson<TokenFate[]>(r.fates);
  if (fates) m.fates = fates;
  const pieces = parseJson<string[]>(r.pieces);
  if (pieces) m.pieces = pieces;
  if (r.trace_id) m.traceId = r.trace_id;
  if (r.error) m.error = r.error;
  if (r.note) m.note = r.note;
  if (r.dropped_turns !== null) m.droppedTurns = r.dropped_turns;
  const model = parseJson<NonNullable<Message['model']>>(r.model);
  if (model) m.model = model;
  return m;
}
