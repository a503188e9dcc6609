// The renderer's versions, compare and A/B pin (studioSlice), with the API client mocked, and the
// A/B skip-set difference (lib/abDiff).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message } from '../../../src/shared/api';
import type { CompareResult } from '../../../src/shared/compare';
import type { GenerationStats, RoundEvent } from '../../../src/shared/engineTypes';
import { defaultChatSettings } from '../../../src/shared/settings';
import { DIFF, sideFigures, skipDiff } from '../../../src/renderer/lib/abDiff';
import { RoundsBuffer } from '../../../src/renderer/lib/rounds';
import { traceGroups } from '../../../src/renderer/lib/traceGroups';
import { sampleTrace } from '../helpers/traces';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');
const { runningCompareId } = await import('../../../src/renderer/store/studioSlice');

const initial = useApp.getState();
const conv: Conversation = { id: 'c1', title: 'c1', systemPrompt: '', settings: defaultChatSettings(), createdAt: 1, updatedAt: 1 };
const user: Message = { id: 'u1', conversationId: 'c1', role: 'user', content: 'Count.', status: 'complete', createdAt: 1 };
const version = (id: string, index: number, content: string): Message => ({
  id,
  conversationId: 'c1',
  role: 'assistant',
  content,
  status: 'complete',
  createdAt: 2,
  versions: { ids: ['a1', 'a2'], index },
  stats: { mode: 'clasp', n_generated: 3, tokens_per_s: 100 + index, ttft_ms: 5 } as GenerationStats,
  traceId: `t-${id}`,
});
const round = (skip: number[], accepted = 1, drafted = 2): RoundEvent =>
  ({ skip, draft: { ids: new Array(drafted).fill(1), q: [] }, verify: { accepted, next_id: 2 } }) as unknown as RoundEvent;

beforeEach(() => {
  useApp.setState(initial, true);
  useApp.setState({ conversations: [conv], activeId: 'c1', messages: { c1: [user, version('a2', 1, 'second')] } });
  call.mockReset();
});

describe('reply versions (renderer)', () => {
  it('showing another version swaps it in place, and the inspector follows when it showed the old one', async () => {
    const buf = RoundsBuffer.fromRounds(4, [round([1])]);
    useApp.setState({ source: { kind: 'message', messageId: 'a2', conversationId: 'c1' }, buffers: { a1: buf } });
    call.mockResolvedValueOnce(version('a1', 0, 'first'));
    await useApp.getState().showVersion(useApp.getState().messages.c1![1]!, 'a1');
    expect(call).toHaveBeenCalledWith('chat:version', { conversationId: 'c1', messageId: 'a1' });
    expect(useApp.getState().messages.c1!.map((m) => m.content)).toEqual(['Count.', 'first']);
    expect(useApp.getState().source).toMatchObject({ kind: 'message', messageId: 'a1' });
  });

  it('a refused switch changes nothing and says why', async () => {
    call.mockRejectedValueOnce(new Error('a reply is still being written'));
    await useApp.getState().showVersion(useApp.getState().messages.c1![1]!, 'a1');
    expect(useApp.getState().messages.c1![1]!.id).toBe('a2');
    expect(useApp.getState().errors[0]!.text).toMatch(/Could not show that version: a reply is still being written/);
  });

  it('deleting the shown version shows the one the backend names', async () => {
    call.mockResolvedValueOnce({ deleted: true, shown: { ...version('a1', 0, 'first'), versions: undefined } });
    await useApp.getState().deleteVersion(useApp.getState().messages.c1![1]!);
    expect(call).toHaveBeenCalledWith('chat:version-delete', { conversationId: 'c1', messageId: 'a2' });
    const m = useApp.getState().messages.c1![1]!;
    expect(m.id).toBe('a1');
    expect(m.versions).toBeUndefined();
  });
});

const result = (cancelled = false): CompareResult => ({
  jobId: 'j1',
  conversationId: 'c1',
  messageId: 'a2',
  repeats: 1,
  maxTokens: 8,
  greedy: true,
  identical: true,
  differing: [],
  model: 'm',
  machine: 'cpu',
  cancelled,
  rows: [],
  runs: [],
});

describe('compare (renderer)', () => {
  it('follows a job from start to result through its app events, and ignores another job', async () => {
    const m = useApp.getState().messages.c1![1]!;
    call.mockResolvedValueOnce({ jobId: 'j1', total: 3 });
    await useApp.getState().startCompare(m, { repeats: 1, maxTokens: 8, greedy: true });
    expect(call).toHaveBeenCalledWith('compare:start', { conversationId: 'c1', messageId: 'a2', repeats: 1, maxTokens: 8, greedy: true });
    expect(useApp.getState().compares.a2).toMatchObject({ jobId: 'j1', running: true, total: 3 });
    const s = useApp.getState();
    s.applyAppEvent({ type: 'compare-progress', jobId: 'j1', conversationId: 'c1', messageId: 'a2', done: 2, total: 3, mode: 'static' });
    expect(useApp.getState().compares.a2).toMatchObject({ done: 2, phase: 'static', running: true });
    s.applyAppEvent({ type: 'compare-progress', jobId: 'old', conversationId: 'c1', messageId: 'a2', done: 9, total: 9, mode: 'ar' });
    expect(useApp.getState().compares.a2!.done).toBe(2);
    s.applyAppEvent({ type: 'compare-done', jobId: 'j1', conversationId: 'c1', messageId: 'a2', result: result() });
    expect(useApp.getState().compares.a2).toMatchObject({ running: false, phase: 'done', result: result() });
    // the conversation is untouched
    expect(useApp.getState().messages.c1).toHaveLength(2);
  });

  it('cancels by job id; a refused start shows its reason on the panel', async () => {
    const m = useApp.getState().messages.c1![1]!;
    call.mockResolvedValueOnce({ jobId: 'j1', total: 9 });
    await useApp.getState().startCompare(m, { repeats: 3, maxTokens: 8, greedy: true });
    call.mockResolvedValueOnce({ cancelled: true });
    await useApp.getState().cancelCompare('a2');
    expect(call).toHaveBeenLastCalledWith('compare:cancel', { jobId: 'j1' });
    useApp.getState().applyAppEvent({ type: 'compare-done', jobId: 'j1', conversationId: 'c1', messageId: 'a2', result: result(true) });
    expect(useApp.getState().compares.a2!.phase).toBe('cancelled');

    call.mockRejectedValueOnce(new Error('"Compare modes" is running'));
    useApp.setState({ compares: {} });
    await useApp.getState().startCompare(m, { repeats: 1, maxTokens: 8, greedy: true });
    expect(useApp.getState().compares.a2).toMatchObject({ running: false, phase: 'failed', error: '"Compare modes" is running' });
  });
});

describe('compare runs keep their traces (renderer)', () => {
  const run = (mode: 'ar' | 'static' | 'clasp', repeat: number) => ({
    traceId: `t-${mode}-${repeat}`,
    name: `Compare: ${mode} run ${repeat + 1} of 2`,
    mode,
    repeat,
    tokensPerS: 100,
    ttftMs: 5,
    nGenerated: 8,
    acceptanceRate: null,
    drafted: 0,
    accepted: 0,
  });
  const listed = [
    { id: 't-reply', name: 'reply', source: 'generated' as const, conversationId: 'c1', messageId: 'a2', createdAt: 5 },
    { id: 't-clasp-1', name: 'Compare: clasp run 2 of 2', source: 'compare' as const, conversationId: 'c1', messageId: null, createdAt: 4 },
    { id: 't-lab', name: 'Lab: skip 3,5,7', source: 'lab' as const, conversationId: 'c1', messageId: null, createdAt: 3 },
    { id: 't-file', name: 'run.json · demo · clasp', source: 'imported' as const, conversationId: null, messageId: null, createdAt: 2 },
  ];

  it('a finished comparison reloads the trace list; a run opens in the inspector as a compare run and pins as A under its name', async () => {
    call.mockImplementation(async (channel: string) => {
      if (channel === 'traces:list') return listed;
      if (channel === 'trace:get') return sampleTrace();
      if (channel === 'trace:delete') return { deleted: true };
      throw new Error(`unexpected ${channel}`);
    });
    const res = { ...result(), repeats: 2, runs: [run('ar', 0), run('clasp', 0), run('ar', 1), run('clasp', 1)] };
    useApp.getState().applyAppEvent({ type: 'compare-done', jobId: 'j1', conversationId: 'c1', messageId: 'a2', result: res });
    await vi.waitFor(() => expect(useApp.getState().storedTraces.map((t) => t.id)).toEqual(['t-clasp-1', 't-lab', 't-file']));
    // the list's headings: one per kind, a reply's own trace not among them
    expect(traceGroups(useApp.getState().storedTraces).map((g) => [g.heading, g.items.map((t) => t.name)])).toEqual([
      ['Imported files', ['run.json · demo · clasp']],
      ['Layer lab', ['Lab: skip 3,5,7']],
      ['Compare modes', ['Compare: clasp run 2 of 2']],
    ]);
    const r = res.runs[3]!;
    await useApp.getState().showStoredTrace(r.traceId, r.name, { origin: 'compare' });
    expect(call).toHaveBeenCalledWith('trace:get', { traceId: 't-clasp-1' });
    expect(useApp.getState().source).toMatchObject({ kind: 'import', name: 'Compare: clasp run 2 of 2', traceId: 't-clasp-1', origin: 'compare' });
    useApp.getState().pinA();
    expect(useApp.getState().abPin).toMatchObject({ label: 'Compare: clasp run 2 of 2' });
    // deleting it from the list takes it off the screen
    await useApp.getState().deleteStoredTrace('t-clasp-1');
    expect(call).toHaveBeenLastCalledWith('trace:delete', { traceId: 't-clasp-1' });
    expect(useApp.getState().source).toBeNull();
    expect(useApp.getState().storedTraces.map((t) => t.id)).toEqual(['t-lab', 't-file']);
    // the conversation is untouched
    expect(useApp.getState().messages.c1).toHaveLength(2);
  });

  it('names the running comparison, in any conversation, so the composer can hold Send back', async () => {
    expect(runningCompareId(useApp.getState())).toBeNull();
    call.mockResolvedValueOnce({ jobId: 'j1', total: 3 });
    await useApp.getState().startCompare(useApp.getState().messages.c1![1]!, { repeats: 1, maxTokens: 8, greedy: true });
    expect(runningCompareId(useApp.getState())).toBe('a2');
    expect(useApp.getState().compares.a2!.conversationId).toBe('c1');
    call.mockResolvedValue([]);
    useApp.getState().applyAppEvent({ type: 'compare-done', jobId: 'j1', conversationId: 'c1', messageId: 'a2', result: result() });
    expect(runningCompareId(useApp.getState())).toBeNull();
  });
});

describe('A/B pin (renderer)', () => {
  it('pins the shown reply as A with its label and stats; unpins', () => {
    useApp.setState({ source: { kind: 'message', messageId: 'a2', conversationId: 'c1' }, buffers: { a2: RoundsBuffer.fromRounds(4, [round([0, 1])]) } });
    useApp.getState().pinA();
    expect(useApp.getState().abPin).toMatchObject({ key: 'a2', label: 'reply 1 v2/2', stats: { tokens_per_s: 101 } });
    useApp.getState().unpinA();
    expect(useApp.getState().abPin).toBeNull();
  });

  it('does not pin what has no rounds', () => {
    useApp.setState({ source: { kind: 'message', messageId: 'a2', conversationId: 'c1' }, buffers: {} });
    useApp.getState().pinA();
    expect(useApp.getState().abPin).toBeNull();
  });
});

describe('skip-set difference', () => {
  it('marks each cell only A, only B, both or neither over the rounds both have', () => {
    const a = RoundsBuffer.fromRounds(4, [round([0, 1]), round([2]), round([3])]);
    const b = RoundsBuffer.fromRounds(4, [round([1, 2]), round([2])]);
    const d = skipDiff(a, a.count, b, b.count)!;
    expect(d.rounds).toBe(2);
    expect(Array.from(d.cells)).toEqual([DIFF.onlyA, DIFF.both, DIFF.onlyB, DIFF.neither, DIFF.neither, DIFF.neither, DIFF.both, DIFF.neither]);
    expect([d.onlyA, d.onlyB, d.both]).toEqual([1, 1, 2]);
    expect(d.meanOverlap).toBeCloseTo((1 / 3 + 1) / 2);
    expect(skipDiff(a, a.count, RoundsBuffer.fromRounds(6, [round([1])]), 1)).toBeNull();
    expect(sideFigures(a, 3).meanSkipped).toBeCloseTo(4 / 3);
  });
});
