// Chat exports (Markdown, JSON) and trace exports (json, specbench, csv), and the import round trip.
import { describe, expect, it } from 'vitest';
import { chatToJson, chatToMarkdown, exportChat, exportTrace, slug, statsLine } from '../../src/app/exporters';
import { parseTrace } from '../../src/shared/trace';
import type { Conversation, Message } from '../../src/shared/api';
import type { GenerationStats } from '../../src/shared/engineTypes';
import { sampleTrace } from './helpers/traces';

const stats: GenerationStats = {
  mode: 'clasp', backend: 'cpu', n_prompt: 20, n_reused: 0, n_generated: 32, prefill_ms: 12, decode_ms: 400, tokens_per_s: 80,
  ttft_ms: 15, rounds: 10, drafted: 40, accepted: 22, mean_accepted_length: 3.2, acceptance_rate: 0.55, dp_runs: 3, dp_ms: 4,
  speedup: 1.4, plain_tokens_per_s: 60, predicted_speedup: 1.5, costed_speedup: 1.45, reason: 'speculating: predicted 1.50x', backend_reason: 'no CUDA device found', policy: 'auto', fallback: false, final_M: 8,
};

const conv: Conversation = {
  id: 'c1', title: 'Counting / "fun" <chat>', systemPrompt: 'Be brief.\nNo jokes.',
  settings: { mode: 'clasp', skip: 'auto', det: 0.7, maxDraft: 12, loi: 4, temperature: 0, topP: 1, topK: 0, seed: 0, maxTokens: 32 },
  createdAt: 1, updatedAt: 2,
};

const messages: Message[] = [
  { id: 'm1', conversationId: 'c1', role: 'user', content: 'Count to five.', status: 'complete', createdAt: 1 },
  {
    id: 'm2', conversationId: 'c1', role: 'assistant', content: '1, 2, 3, 4, 5', status: 'complete', createdAt: 2, stats,
    tokenIds: [16, 11, 17], fates: ['plain', 'accepted', 'bonus'], traceId: 't1',
    model: { name: 'clasp-demo-29M', path: '/m.gguf', device: 'cpu (2 threads)' },
    note: 'The oldest turn was left out of the prompt.',
  },
  { id: 'm3', conversationId: 'c1', role: 'user', content: 'Again', status: 'complete', createdAt: 3 },
  { id: 'm4', conversationId: 'c1', role: 'assistant', content: '1, 2', status: 'cancelled', createdAt: 4 },
];

describe('chat export', () => {
  it('Markdown has the title, the system prompt, every turn, and stats with their definitions', () => {
    const md = chatToMarkdown(conv, messages, new Date('2026-01-02T03:04:05Z'));
    expect(md.startsWith('# Counting / "fun" <chat>\n')).toBe(true);
    expect(md).toContain('_Exported from CLaSp Studio on 2026-01-02T03:04:05.000Z._');
    expect(md).toContain('> Be brief.\n> No jokes.');
    expect(md.match(/^## User$/gm)).toHaveLength(2);
    expect(md.match(/^## Assistant$/gm)).toHaveLength(2);
    expect(md).toContain('1, 2, 3, 4, 5');
    expect(md).toContain('80.0 tok/s');
    expect(md).toContain('TTFT 15 ms');
    expect(md).toContain('mean accepted length 3.20 (tokens per verify round, counting the correction or bonus token)');
    expect(md).toContain('acceptance 55% (accepted drafts / drafted tokens)');
    expect(md).toContain('> status: cancelled');
    expect(md).toContain('> The oldest turn was left out of the prompt.');
    expect(md).toContain('model: clasp-demo-29M on cpu (2 threads)');
  });

  it('ar stats leave out the speculative numbers', () => {
    const line = statsLine({ ...stats, mode: 'ar', mean_accepted_length: null, acceptance_rate: null, rounds: null });
    expect(line).not.toContain('accepted');
    expect(line).toContain('ar · 32 tokens');
  });

  it('JSON keeps every field of every message, without database ids', () => {
    const j = chatToJson(conv, messages, new Date(0));
    expect(j.format).toBe('clasp-chat');
    expect(j.version).toBe(1);
    expect(j.conversation).toEqual({ title: conv.title, systemPrompt: conv.systemPrompt, settings: conv.settings, createdAt: 1, updatedAt: 2 });
    expect(j.messages).toHaveLength(4);
    expect(j.messages[1]).toEqual({ ...messages[1], id: undefined, conversationId: undefined } as unknown as object);
    expect(JSON.stringify(j)).not.toContain('"conversationId"');
  });

  it('file names are safe', () => {
    const f = exportChat(conv, messages, 'markdown');
    expect(f.filename).toBe('Counting-fun-chat.md');
    expect(f.mimeType).toBe('text/markdown');
    expect(exportChat(conv, messages, 'json').filename).toBe('Counting-fun-chat.json');
    expect(slug('../../etc/passwd')).toBe('etcpasswd');
    expect(slug('日本語')).toBe('chat');
    expect(JSON.parse(exportChat(conv, messages, 'json').content!).messages).toHaveLength(4);
  });
});

describe('trace export', () => {
  const t = sampleTrace();

  it('json exports, then imports through parseTrace, unchanged', () => {
    const f = exportTrace('abcdef12-3456', t, 'json');
    expect(f.filename).toBe('trace-tiny-clasp-abcdef12.json');
    expect(f.mimeType).toBe('application/json');
    expect(parseTrace(f.content!)).toEqual(t);
  });

  it('specbench writes one answer line with accept_lengths counting every token', () => {
    const f = exportTrace('id1', t, 'specbench');
    expect(f.filename.endsWith('.jsonl')).toBe(true);
    const lines = f.content!.trim().split('\n');
    expect(lines).toHaveLength(1);
    const row = JSON.parse(lines[0]!);
    expect(row.question_id).toBe('id1');
    expect(row.choices[0].accept_lengths).toEqual([1, 3]); // the first token (prefill), then the round
    expect(row.choices[0].new_tokens).toEqual([4]);
    expect(row.choices[0].wall_time[0]).toBeCloseTo(0.004);
    expect(row.choices[0].turns).toEqual(['abcd']);
  });

  it('csv has a header and one row per round', () => {
    const f = exportTrace('id1', t, 'csv');
    const rows = f.content!.trim().split('\n');
    expect(rows[0]).toBe('kind,round,pos,tokens,n_skip,skip,drafted,accepted,next_id,det,stop,draft_ms,verify_ms,dp,dp_ms,policy');
    expect(rows).toHaveLength(1 + t.rounds.length);
    expect(rows[1]!.split(',').slice(0, 11)).toEqual(['round', '0', '3', '3', '1', '2', '3', '2', '8', '0.6', 'det']);
  });

  it('a mixed run (rounds, then plain decoding) counts every token in both exports', () => {
    // 1 (prefill) + 3 (the round) + 5 plain steps at positions 6..10 = 9 tokens
    const mixed = parseTrace(
      JSON.stringify({
        ...t,
        output_ids: [5, 6, 7, 8, 1, 1, 1, 1, 1],
        plain: [{ pos: 6, n: 5, reason: 'plain decoding: predicted 0.80x' }],
        summary: { ...t.summary, n_generated: 9, plain_steps: 5, fallback: true },
      }),
    );
    const sb = JSON.parse(exportTrace('m', mixed, 'specbench').content!.trim());
    expect(sb.choices[0].accept_lengths).toEqual([1, 3, 1, 1, 1, 1, 1]);
    expect(sb.choices[0].accept_lengths.reduce((a: number, b: number) => a + b, 0)).toBe(9);
    const rows = exportTrace('m', mixed, 'csv').content!.trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows.map((r) => r[0])).toEqual(['round', 'plain']);
    expect(1 + rows.reduce((a, r) => a + Number(r[3]), 0)).toBe(9);
    expect(rows[1]![15]).toContain('plain decoding');
  });

  it('an invalid trace is not exported', () => {
    expect(() => exportTrace('x', { ...t, version: 2 } as never, 'json')).toThrow(/version/);
  });
});
