// While "Compare modes" runs it holds the one engine: Send, Regenerate, Edit & resend, "Try it anyway",
// another reply's "Compare modes" and the layer lab's re-runs wait (one reason, from compareHold),
// start nothing, and say why; once the comparison ends (done, cancelled or failed) each of them goes
// through again.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message } from '../../../src/shared/api';
import type { CompareResult } from '../../../src/shared/compare';
import { defaultChatSettings } from '../../../src/shared/settings';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');
const { compareHold } = await import('../../../src/renderer/store/studioSlice');

const initial = useApp.getState();
const conv = (id: string): Conversation => ({ id, title: id, systemPrompt: '', settings: defaultChatSettings(), createdAt: 1, updatedAt: 1 });
const user: Message = { id: 'u1', conversationId: 'c1', role: 'user', content: 'Count to 3.', status: 'complete', createdAt: 1 };
const reply: Message = { id: 'a1', conversationId: 'c1', role: 'assistant', content: '1, 2, 3', status: 'complete', createdAt: 2 };
const fresh: Message = { id: 'a2', conversationId: 'c1', role: 'assistant', content: '', status: 'streaming', createdAt: 3 };
const started = { userMessage: { ...user, id: 'u2' }, assistantMessage: fresh, promptTokens: 9, droppedTurns: 0 };

/** A comparison of reply `a1` (chat c1) running, 4 of 30 runs done. */
const comparing = () =>
  useApp.setState({
    compares: { a1: { jobId: 'j1', conversationId: 'c1', running: true, done: 4, total: 30, phase: 'static', result: null, error: null } },
  });
const errors = () => useApp.getState().errors.map((e) => e.text);

beforeEach(() => {
  useApp.setState(initial, true);
  useApp.setState({ conversations: [conv('c1'), conv('c2')], activeId: 'c1', messages: { c1: [user, reply], c2: [] }, labPins: { a1: [1, 3] } });
  call.mockReset();
});

describe('compareHold', () => {
  it('is null with no comparison running, and one sentence naming the action and where it runs otherwise', () => {
    expect(compareHold(useApp.getState(), 'Regenerate', 'c1')).toBeNull();
    comparing();
    const s = useApp.getState();
    expect(compareHold(s, 'Regenerate', 'c1')).toBe(
      'Regenerate waits: “Compare modes” is re-running a reply of this chat on the model (4/30 runs). Regenerate comes back when it ends.',
    );
    expect(compareHold(s, 'Send', 'c2')).toMatch(/^Send waits: .* a reply in another chat .*\(4\/30 runs\)/);
    expect(compareHold(s, 'The re-run', null)).toMatch(/^The re-run waits: “Compare modes” is re-running a reply on the model/);
  });
});

describe('actions while a comparison runs', () => {
  it('regenerate, try it anyway, edit & resend and send start nothing, keep the chat as it was and say why', async () => {
    comparing();
    await useApp.getState().regenerate();
    await useApp.getState().regenerate({ tryAnyway: true });
    expect(await useApp.getState().editAndResend('u1', 'Count to 4.')).toBe(false);
    expect(await useApp.getState().send('Another question')).toBe(false);
    expect(call).not.toHaveBeenCalled();
    expect(useApp.getState().messages.c1).toEqual([user, reply]);
    expect(useApp.getState().sending).toBeNull();
    expect(errors()).toEqual([
      expect.stringMatching(/^Regenerate waits: .*this chat/),
      expect.stringMatching(/^Try it anyway waits: /),
      expect.stringMatching(/^Edit & resend waits: /),
      expect.stringMatching(/^Send waits: /),
    ]);
  });

  it('in another chat too (the comparison holds the one engine)', async () => {
    comparing();
    useApp.setState({ activeId: 'c2' });
    expect(await useApp.getState().send('Hello')).toBe(false);
    expect(call).not.toHaveBeenCalled();
    expect(errors()).toEqual([expect.stringMatching(/^Send waits: .* a reply in another chat/)]);
  });

  it("another reply's comparison starts nothing and says why in that reply's panel", async () => {
    comparing();
    const other: Message = { ...reply, id: 'a9', conversationId: 'c2' };
    await useApp.getState().startCompare(other, { repeats: 1, maxTokens: 16, greedy: true });
    expect(call).not.toHaveBeenCalled();
    expect(useApp.getState().compares.a9).toMatchObject({ running: false, error: expect.stringMatching(/^Compare modes waits: .* a reply in another chat .*\(4\/30 runs\)/) });
    expect(useApp.getState().compares.a1.running).toBe(true); // the running one is untouched
  });

  it("the layer lab's re-runs (a pinned set or a fixed M) start nothing and say why in the lab", async () => {
    comparing();
    await useApp.getState().runLab('a1', 't-a1');
    await useApp.getState().runLab('a1', 't-a1', 4);
    expect(call).not.toHaveBeenCalled();
    expect(useApp.getState().labBusy).toBeNull();
    expect(useApp.getState().labError).toEqual({ key: 'a1', text: expect.stringMatching(/^The re-run waits: “Compare modes”/) });
  });

  it('each goes through again once the comparison is cancelled', async () => {
    comparing();
    call.mockResolvedValue([]); // compare-done reloads the stored traces
    const cancelled = { jobId: 'j1', conversationId: 'c1', messageId: 'a1', cancelled: true, rows: [], runs: [] } as unknown as CompareResult;
    useApp.getState().applyAppEvent({ type: 'compare-done', jobId: 'j1', conversationId: 'c1', messageId: 'a1', result: cancelled });
    expect(compareHold(useApp.getState(), 'Regenerate', 'c1')).toBeNull();
    call.mockReset();
    call.mockResolvedValue(started);
    await useApp.getState().regenerate({ tryAnyway: true });
    expect(call).toHaveBeenLastCalledWith('chat:regenerate', { conversationId: 'c1', tryAnyway: true });
    expect(await useApp.getState().send('Another question')).toBe(true);
    expect(call).toHaveBeenLastCalledWith('chat:send', { conversationId: 'c1', content: 'Another question' });
    call.mockResolvedValue({ jobId: 'j2', total: 3 });
    await useApp.getState().startCompare({ ...reply, id: 'a9' }, { repeats: 1, maxTokens: 16, greedy: true });
    expect(call).toHaveBeenLastCalledWith('compare:start', { conversationId: 'c1', messageId: 'a9', repeats: 1, maxTokens: 16, greedy: true });
  });

  it('and once it fails', async () => {
    comparing();
    useApp.getState().applyAppEvent({ type: 'compare-error', jobId: 'j1', conversationId: 'c1', messageId: 'a1', message: 'engine error' });
    call.mockResolvedValue(started);
    expect(await useApp.getState().editAndResend('u1', 'Count to 4.')).toBe(true);
    expect(call).toHaveBeenCalledWith('chat:send', { conversationId: 'c1', content: 'Count to 4.', editOf: 'u1' });
  });
});
