// The renderer's zustand slices, with the API client replaced by a mock: how a reply is built from
// its events (and that nothing is fetched again after 'done'), sending with the 'start' event racing
// the answer, failures that undo an optimistic change, the app events that change the conversation
// list, and the ui, model and inspector slices' own rules.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message, ReplyEvent } from '../../../src/shared/api';
import type { GenerationStats } from '../../../src/shared/engineTypes';
import { defaultChatSettings } from '../../../src/shared/settings';
import { sampleTrace } from '../helpers/traces';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');

const initial = useApp.getState();
const conv = (id: string, updatedAt: number, title = id): Conversation => ({ id, title, systemPrompt: '', settings: defaultChatSettings(), createdAt: 1, updatedAt });
const user = (id: string, content: string): Message => ({ id, conversationId: 'c1', role: 'user', content, status: 'complete', createdAt: 1 });
const reply = (id: string): Message => ({ id, conversationId: 'c1', role: 'assistant', content: '', status: 'streaming', createdAt: 2 });
const stats = { mode: 'clasp', n_generated: 3 } as GenerationStats;

beforeEach(() => {
  useApp.setState(initial, true);
  useApp.setState({ conversations: [conv('c1', 10), conv('c2', 5)], activeId: 'c1', messages: { c1: [user('u1', 'Count to 3.')] } });
  call.mockReset();
});

describe('chat slice', () => {
  it("builds a reply from its events; 'done' is final and nothing is fetched again", () => {
    const s = useApp.getState();
    s.applyReplyEvents([
      { type: 'start', conversationId: 'c1', messageId: 'a1', promptTokens: 9, droppedTurns: 1, note: 'The oldest turn was left out.' },
      { type: 'tokens', messageId: 'a1', text: '1, 2', ids: [10, 11, 12], fates: ['plain', 'accepted', 'correction'], pieces: ['1', ',', ' 2'] },
    ]);
    let m = useApp.getState().messages.c1![1]!;
    expect(m).toMatchObject({ id: 'a1', role: 'assistant', status: 'streaming', content: '1, 2', tokenIds: [10, 11, 12], pieces: ['1', ',', ' 2'], note: 'The oldest turn was left out.' });
    expect(useApp.getState().activeReply).toEqual({ conversationId: 'c1', messageId: 'a1' });
    // the inspector turns to the new reply
    expect(useApp.getState().source).toMatchObject({ kind: 'message', messageId: 'a1' });

    s.applyReplyEvents([
      { type: 'tokens', messageId: 'a1', text: ', 3', ids: [13], fates: ['bonus'], pieces: [', 3'] },
      { type: 'done', messageId: 'a1', finishReason: 'stop', stats, traceId: 't1' },
    ]);
    m = useApp.getState().messages.c1![1]!;
    expect(m).toMatchObject({ status: 'complete', content: '1, 2, 3', fates: ['plain', 'accepted', 'correction', 'bonus'], stats, traceId: 't1' });
    expect(useApp.getState().activeReply).toBeNull();
    expect(call).not.toHaveBeenCalled();
  });

  it('marks a failed reply and shows the error; a stopped one is cancelled with its note', () => {
    const s = useApp.getState();
    s.applyReplyEvents([
      { type: 'start', conversationId: 'c1', messageId: 'a1', promptTokens: 9, droppedTurns: 0 },
      { type: 'error', messageId: 'a1', message: 'the engine failed' },
    ]);
    expect(useApp.getState().messages.c1![1]).toMatchObject({ status: 'error', error: 'the engine failed' });
    expect(useApp.getState().errors.map((e) => e.text)).toEqual(['the engine failed']);
    s.applyReplyEvents([
      { type: 'start', conversationId: 'c1', messageId: 'a2', promptTokens: 9, droppedTurns: 0 },
      { type: 'done', messageId: 'a2', finishReason: 'cancelled', stats, traceId: null, note: 'Stopped: the model was switched.' },
    ]);
    expect(useApp.getState().messages.c1![2]).toMatchObject({ status: 'cancelled', note: 'Stopped: the model was switched.' });
  });

  it("sends: the stored user message replaces the optimistic one, and a reply 'start' placed keeps its streamed text", async () => {
    const stored = user('u2', 'And to 4?');
    call.mockImplementation(async (channel: string) => {
      expect(channel).toBe('chat:send');
      // while the request is out: the optimistic message shows, then the reply starts streaming
      expect(useApp.getState().messages.c1!.map((m) => m.content)).toEqual(['Count to 3.', 'And to 4?']);
      const events: ReplyEvent[] = [
        { type: 'start', conversationId: 'c1', messageId: 'a2', promptTokens: 20, droppedTurns: 0 },
        { type: 'tokens', messageId: 'a2', text: '4', ids: [14], fates: ['plain'] },
      ];
      useApp.getState().applyReplyEvents(events);
      return { userMessage: stored, assistantMessage: { ...reply('a2'), settings: defaultChatSettings() }, promptTokens: 20, droppedTurns: 0 };
    });
    await expect(useApp.getState().send('And to 4?')).resolves.toBe(true);
    const list = useApp.getState().messages.c1!;
    expect(list.map((m) => m.id)).toEqual(['u1', 'u2', 'a2']);
    expect(list[2]).toMatchObject({ content: '4', status: 'streaming', settings: defaultChatSettings() });
    expect(useApp.getState().sending).toBeNull();
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('takes an optimistic message back when the send fails, and says why', async () => {
    call.mockRejectedValue(new Error('a reply is still being written'));
    await expect(useApp.getState().send('Hello?')).resolves.toBe(false);
    expect(useApp.getState().messages.c1!.map((m) => m.id)).toEqual(['u1']);
    expect(useApp.getState().sending).toBeNull();
    expect(useApp.getState().errors.at(-1)?.text).toBe('a reply is still being written');
  });
});

describe('conversations slice', () => {
  it('follows conversation-updated events, ignoring conversations not in the list', () => {
    const s = useApp.getState();
    s.applyAppEvent({ type: 'conversation-updated', conversation: conv('c2', 20, 'Counting') });
    expect(useApp.getState().conversations.map((c) => [c.id, c.title])).toEqual([
      ['c2', 'Counting'],
      ['c1', 'c1'],
    ]);
    s.applyAppEvent({ type: 'conversation-updated', conversation: conv('gone', 30) });
    expect(useApp.getState().conversations.map((c) => c.id)).toEqual(['c2', 'c1']);
  });

  it('drops a conversation deleted elsewhere and opens the next one', async () => {
    call.mockResolvedValue([]);
    useApp.getState().applyAppEvent({ type: 'conversation-deleted', conversationId: 'c1' });
    expect(useApp.getState().conversations.map((c) => c.id)).toEqual(['c2']);
    await vi.waitFor(() => expect(useApp.getState().activeId).toBe('c2'));
    expect(call).toHaveBeenCalledWith('messages:list', { conversationId: 'c2' });
  });

  it('shows a settings change at once and restores it when the save fails', async () => {
    let fail!: (e: Error) => void;
    call.mockReturnValue(new Promise((_, reject) => (fail = reject)));
    const done = useApp.getState().updateSettings('c1', { maxDraft: 5 });
    expect(useApp.getState().conversations.find((c) => c.id === 'c1')!.settings.maxDraft).toBe(5);
    fail(new Error('max draft must be between 1 and 64'));
    await done;
    expect(useApp.getState().conversations.find((c) => c.id === 'c1')!.settings.maxDraft).toBe(12);
    expect(useApp.getState().errors.at(-1)?.text).toBe('Could not save the settings: max draft must be between 1 and 64');
  });
});

describe('ui, model and inspector slices', () => {
  it('shows one banner for the same error twice in a row, and at most five', () => {
    const s = useApp.getState();
    s.pushError('a');
    s.pushError('a');
    expect(useApp.getState().errors.map((e) => e.text)).toEqual(['a']);
    for (const t of ['b', 'c', 'd', 'e', 'f']) s.pushError(t);
    expect(useApp.getState().errors.map((e) => e.text)).toEqual(['b', 'c', 'd', 'e', 'f']);
    s.dismissError();
    expect(useApp.getState().errors).toEqual([]);
  });

  it('clamps load progress and ends the load on an error', () => {
    const s = useApp.getState();
    s.applyModelEvent({ type: 'progress', path: '/m.gguf', fraction: 1.7, message: 'reading' });
    expect(useApp.getState().modelLoad).toEqual({ path: '/m.gguf', fraction: 1, message: 'reading' });
    s.applyModelEvent({ type: 'error', message: 'not a GGUF file' });
    expect(useApp.getState().modelLoad).toBeNull();
    expect(useApp.getState().errors.at(-1)?.text).toBe('not a GGUF file');
  });

  it('imports a valid trace for replay and refuses a corrupt one without changing the view', () => {
    const s = useApp.getState();
    expect(s.importTraceText('{"format": "clasp-trace"', 'broken.json')).toBe(false);
    expect(useApp.getState().importError).toMatch(/broken\.json/);
    expect(useApp.getState().source).toBeNull();
    expect(s.importTraceText(JSON.stringify(sampleTrace(4)), 'run.json')).toBe(true);
    const src = useApp.getState().source;
    expect(src).toMatchObject({ kind: 'import', name: 'run.json' });
    expect(useApp.getState().buffers[(src as { key: string }).key]!.count).toBe(1);
    expect(useApp.getState().importError).toBeNull();
  });
});
