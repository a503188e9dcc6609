// Exports of a conversation (Markdown, JSON) and of a trace (clasp-trace JSON, Spec-Bench answer
// JSONL, per-round CSV), as files for the user to save.
import type { Conversation, ExportedFile, Message } from '../shared/api';
import type { GenerationStats } from '../shared/engineTypes';
import { validateTrace, type Trace } from '../shared/trace';
import { toCsv, toSpecBench } from '../services/traceBuilder';

export const CHAT_EXPORT_FORMAT = 'clasp-chat';

/** A file name from a title: letters, digits, dot, dash and underscore only. */
export function slug(s: string, fallback = 'chat'): string {
  const t = s
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._ -]+/g, '')
    .trim()
    .replace(/\s+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 60);
  return t || fallback;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** One line of stats under a reply, with the definitions of the speculative numbers stated. */
export function statsLine(s: GenerationStats): string {
  const parts = [
    s.mode,
    `${s.n_generated} tokens`,
    `${s.tokens_per_s.toFixed(1)} tok/s`,
    `TTFT ${s.ttft_ms.toFixed(0)} ms`,
    `prompt ${s.n_prompt} tokens in ${s.prefill_ms.toFixed(0)} ms`,
  ];
  if (s.mean_accepted_length !== null) parts.push(`mean accepted length ${s.mean_accepted_length.toFixed(2)} (tokens per verify round, counting the correction or bonus token)`);
  if (s.acceptance_rate !== null) parts.push(`acceptance ${pct(s.acceptance_rate)} (accepted drafts / drafted tokens)`);
  if (s.speedup != null) parts.push(`${s.speedup.toFixed(2)}× plain decoding on this machine (${(s.plain_tokens_per_s ?? 0).toFixed(0)} tok/s plain)`);
  if (s.fallback) parts.push(`${s.plain_steps ?? 0} tokens decoded plainly by the policy`);
  if (s.reason) parts.push(`policy: ${s.reason}`);
  parts.push(`backend ${s.backend}`);
  return parts.join(' · ');
}

export function chatToMarkdown(conv: Conversation, messages: Message[], now = new Date()): string {
  const out: string[] = [`# ${conv.title.replace(/\n/g, ' ')}`, ''];
  out.push(`_Exported from CLaSp Studio on ${now.toISOString()}._`, '');
  if (conv.systemPrompt.trim()) {
    out.push('**System prompt**', '', ...conv.systemPrompt.split('\n').map((l) => `> ${l}`), '');
  }
  for (const m of messages) {
    if (m.role === 'system') continue;
    out.push(`## ${m.role === 'user' ? 'User' : 'Assistant'}`, '');
    out.push(m.content.length ? m.content : '_(empty)_', '');
    const meta: string[] = [];
    if (m.role === 'assistant') {
      if (m.status !== 'complete') meta.push(`status: ${m.status}${m.error ? ` (${m.error})` : ''}`);
      if (m.note) meta.push(m.note);
      if (m.model) meta.push(`model: ${m.model.name} on ${m.model.device}`);
      if (m.versions) meta.push(`version ${m.versions.index + 1} of ${m.versions.ids.length} (the one shown; regenerated replies keep their earlier versions)`);
      if (m.stats) meta.push(statsLine(m.stats));
    }
    if (meta.length) out.push(...meta.map((l) => `> ${l}`), '');
  }
  return out.join('\n');
}

export interface ChatExport {
  format: typeof CHAT_EXPORT_FORMAT;
  version: 1;
  exportedAt: string;
  conversation: Omit<Conversation, 'id'>;
  /** the messages shown (each reply's selected version); `version`: which of how many, when a reply has several */
  messages: (Omit<Message, 'id' | 'conversationId' | 'versions'> & { version?: { n: number; of: number } })[];
}

export function chatToJson(conv: Conversation, messages: Message[], now = new Date()): ChatExport {
  const { id: _id, ...conversation } = conv;
  return {
    format: CHAT_EXPORT_FORMAT,
    version: 1,
    exportedAt: now.toISOString(),
    conversation,
    messages: messages.map(({ id: _m, conversationId: _c, versions, ...rest }) => (versions ? { ...rest, version: { n: versions.index + 1, of: versions.ids.length } } : rest)),
  };
}

export function exportChat(conv: Conversation, messages: Message[], format: 'markdown' | 'json'): ExportedFile {
  const base = slug(conv.title);
  return format === 'markdown'
    ? { filename: `${base}.md`, mimeType: 'text/markdown', content: chatToMarkdown(conv, messages) }
    : { filename: `${base}.json`, mimeType: 'application/json', content: JSON.stringify(chatToJson(conv, messages), null, 2) + '\n' };
}

export function exportTrace(traceId: string, trace: Trace, format: 'json' | 'specbench' | 'csv'): ExportedFile {
  // The schema is checked on export as on import: what we write, we can read back.
  const t = validateTrace(trace, 'trace');
  const base = `trace-${slug(t.model.name, 'model')}-${t.config.mode}-${traceId.slice(0, 8)}`;
  switch (format) {
    case 'json':
      return { filename: `${base}.json`, mimeType: 'application/json', content: JSON.stringify(t) + '\n' };
    case 'specbench':
      return { filename: `${base}.jsonl`, mimeType: 'application/x-ndjson', content: toSpecBench([{ id: traceId, trace: t }]) };
    case 'csv':
      return { filename: `${base}.csv`, mimeType: 'text/csv', content: toCsv(t) };
  }
}
