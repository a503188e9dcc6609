// The chat slice's "try it anyway": regenerate asks chat:regenerate with tryAnyway only when told,
// and the replaced reply comes back when the call fails.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message } from '../../../src/shared/api';
import { defaultChatSettings } from '../../../src/shared/settings';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');

const initial = useApp.getState();
const conv: Conversation = { id: 'c1', title: 'c1', systemPrompt: '', settings: defaultChatSettings(), createdAt: 1, updatedAt: 1 };
const user: Message = { id: 'u1', conversationId: 'c1', role: 'user', content: 'Count to 3.', status: 'complete', createdAt: 1 };
const old: Message = { id: 'a1', conversationId: 'c1', role: 'assistant', content: '1, 2, 3', status: 'complete', createdAt: 2 };
const fresh: Message = { id: 'a2', conversationId: 'c1', role: 'assistant', content: '', status: 'streaming', createdAt: 3 };

beforeEach(() => {
  useApp.setState(initial, true);
  useApp.setState({ conversations: [conv], activeId: 'c1', messages: { c1: [user, old] } });
  call.mockReset();
});

describe('regenerate with try it anyway', () => {
  it('passes tryAnyway only when asked, and puts the new reply in place of the old', async () => {
    call.mockResolvedValue({ assistantMessage: fresh, promptTokens: 9, droppedTurns: 0 });
    await useApp.getState().regenerate({ tryAnyway: true });
    expect(call).toHaveBeenCalledWith('chat:regenerate', { conversationId: 'c1', tryAnyway: true });
    expect(useApp.getState().messages.c1!.map((m) => m.id)).toEqual(['u1', 'a2']);
    call.mockClear();
    await useApp.getState().regenerate();
    expect(call).toHaveBeenCalledWith('chat:regenerate', { conversationId: 'c1' });
  });

  it('a refused call brings the old reply back and says why', async () => {
    call.mockRejectedValue(new Error('a reply is still being written'));
    await useApp.getState().regenerate({ tryAnyway: true });
    expect(useApp.getState().messages.c1!.map((m) => m.id)).toEqual(['u1', 'a1']);
    expect(JSON.stringify(useApp.getState())).toContain('a reply is still being written');
  });
});
