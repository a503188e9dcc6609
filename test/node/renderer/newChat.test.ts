// "New chat": it starts from the defaults (not the open chat's tuning), reuses a chat that has no
// messages instead of adding another empty one, and the previous reply leaves the inspector.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message } from '../../../src/shared/api';
import { defaultChatSettings } from '../../../src/shared/settings';

const call = vi.fn();
vi.mock('../../../src/renderer/lib/client', async (original) => ({ ...(await original<object>()), call }));
const { useApp } = await import('../../../src/renderer/store');

const initial = useApp.getState();
const tuned: Conversation['settings'] = { ...defaultChatSettings(), mode: 'ar', skipRatio: 0.5, temperature: 1.3 };
const conv = (id: string, settings: Conversation['settings'] = tuned): Conversation => ({ id, title: id, systemPrompt: '', settings, createdAt: 1, updatedAt: 10 });
const answer: Message = { id: 'a1', conversationId: 'c1', role: 'assistant', content: 'hi', status: 'complete', createdAt: 2 };

beforeEach(() => {
  useApp.setState(initial, true);
  useApp.setState({
    conversations: [conv('c1')],
    activeId: 'c1',
    messages: { c1: [{ ...answer, id: 'u1', role: 'user' }, answer] },
    source: { kind: 'message', messageId: 'a1', conversationId: 'c1' },
  });
  call.mockReset();
});

describe('New chat', () => {
  it('creates a chat from the defaults, and the old reply leaves the inspector', async () => {
    call.mockImplementation(async (channel: string, payload: { settings?: unknown }) => {
      expect(channel).toBe('conversations:create');
      expect(payload.settings).toBeUndefined(); // not the open chat's settings
      return conv('c2', defaultChatSettings());
    });
    const c = await useApp.getState().newChat();
    expect(c?.id).toBe('c2');
    expect(useApp.getState().activeId).toBe('c2');
    expect(useApp.getState().source).toBeNull();
  });

  it('reuses an empty chat, resetting its settings (the skip ratio included) to the defaults', async () => {
    useApp.setState({ conversations: [conv('c1'), conv('c0')], messages: { ...useApp.getState().messages, c0: [] } });
    call.mockImplementation(async (channel: string, payload: { id: string; settings: Record<string, unknown> }) => {
      expect(channel).toBe('conversations:update');
      expect(payload.id).toBe('c0');
      expect(payload.settings.skipRatio).toBeNull();
      const { skipRatio: _drop, ...rest } = payload.settings;
      return conv('c0', rest as Conversation['settings']);
    });
    const c = await useApp.getState().newChat();
    expect(c?.id).toBe('c0');
    expect(call).toHaveBeenCalledTimes(1); // no second empty chat was created
    expect(useApp.getState().conversations).toHaveLength(2);
    expect(useApp.getState().conversations.find((x) => x.id === 'c0')!.settings).toEqual(defaultChatSettings());
    expect(useApp.getState().source).toBeNull();
  });
});
