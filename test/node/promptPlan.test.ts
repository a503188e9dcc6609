// promptPlan: which turns of a conversation go into the prompt, driven by a fake encoder (one token
// per character of content, plus 2 per message), so every case is exact and needs no model.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/app/apiErrors';
import { planPrompt, toChat, type PromptRequest } from '../../src/app/promptPlan';
import { PromptTooLongError } from '../../src/services/EngineService';
import type { Message } from '../../src/shared/api';
import type { ChatMessage } from '../../src/services/text/chatTemplate';

/** Token ids: per message its role's marker, then one id per character, then an end marker. */
function fakeEncode(messages: ChatMessage[]): number[] {
  const ids: number[] = [];
  for (const m of messages) ids.push(m.role === 'system' ? 1 : m.role === 'user' ? 2 : 3, ...[...m.content].map((c) => c.charCodeAt(0)), 0);
  return ids;
}

const turn = (user: string, assistant?: string): ChatMessage[] => [
  { role: 'user', content: user },
  ...(assistant !== undefined ? [{ role: 'assistant' as const, content: assistant }] : []),
];

function request(turns: ChatMessage[], over: Partial<PromptRequest> = {}): PromptRequest {
  return { systemPrompt: '', turns, maxTokens: 10, nCtx: 100, modelName: 'tiny', encodeChat: fakeEncode, ...over };
}

describe('planPrompt', () => {
  it('keeps the whole conversation when it fits, with no note', () => {
    const turns = [...turn('hello', 'hi there'), ...turn('how are you?')];
    const plan = planPrompt(request(turns, { systemPrompt: 'be brief' }));
    expect(plan.ids).toEqual(fakeEncode([{ role: 'system', content: 'be brief' }, ...turns]));
    expect(plan.droppedTurns).toBe(0);
    expect(plan.note).toBeUndefined();
  });

  it('leaves out the fewest oldest whole turns that make room for the reply, and keeps the system prompt', () => {
    // each turn: user 10 chars + reply 10 chars = 24 tokens; the last (open) turn 12
    const turns = [...turn('a'.repeat(10), 'b'.repeat(10)), ...turn('c'.repeat(10), 'd'.repeat(10)), ...turn('e'.repeat(10), 'f'.repeat(10)), ...turn('g'.repeat(10))];
    const system = { role: 'system' as const, content: 'sys' }; // 5 tokens
    // nCtx 80, reply room min(10, 40) = 10: budget 70. All: 5 + 72 + 12 = 89; one dropped: 65.
    const plan = planPrompt(request(turns, { systemPrompt: 'sys', nCtx: 80 }));
    expect(plan.droppedTurns).toBe(1);
    expect(plan.ids).toEqual(fakeEncode([system, ...turns.slice(2)]));
    expect(plan.note).toBe("The oldest turn was left out of the prompt: the conversation is longer than the model's context (80 tokens).");
    // a smaller context: budget 41 leaves room for the last two turns (41 tokens) only
    const tight = planPrompt(request(turns, { systemPrompt: 'sys', nCtx: 51 }));
    expect(tight.droppedTurns).toBe(2);
    expect(tight.ids).toEqual(fakeEncode([system, ...turns.slice(4)]));
    expect(tight.note).toMatch(/^The 2 oldest turns were left out/);
  });

  it('the reply room is max tokens but at most half the context', () => {
    const turns = turn('x'.repeat(40)); // 42 tokens
    expect(planPrompt(request(turns, { nCtx: 100, maxTokens: 1000 })).ids).toHaveLength(42); // room 50: fits
    // the last turn always stays: too big for the room, it is still sent while it fits the context
    expect(planPrompt(request(turns, { nCtx: 60, maxTokens: 1000 })).droppedTurns).toBe(0);
  });

  it('refuses a message that cannot fit the context at all, naming the model and its context', () => {
    const long = turn('y'.repeat(200));
    const err = (() => {
      try {
        planPrompt(request(long, { systemPrompt: 'sys' }));
      } catch (e) {
        return e;
      }
    })() as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('bad_request');
    expect(err.message).toBe("the system prompt and this message take 207 tokens, but tiny's context holds 100; shorten it");
    // refused by length before tokenizing (the encoder's PromptTooLongError)
    const tooLong = () => {
      throw new PromptTooLongError('too long');
    };
    expect(() => planPrompt(request(long, { encodeChat: tooLong }))).toThrow("this message are far too long, but tiny's context holds 100; shorten it");
  });

  it('passes on other encoder errors', () => {
    const broken = () => {
      throw new Error('template failed');
    };
    expect(() => planPrompt(request(turn('hi'), { encodeChat: broken }))).toThrow('template failed');
  });
});

describe('toChat', () => {
  it('keeps user messages and replies with text, stopped ones included', () => {
    const msg = (role: Message['role'], content: string, status: Message['status'] = 'complete') => ({ role, content, status }) as Message;
    expect(toChat([msg('user', 'q1'), msg('assistant', 'a1', 'cancelled'), msg('user', 'q2'), msg('assistant', '  ', 'error'), msg('user', 'q3')])).toEqual([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
      { role: 'user', content: 'q3' },
    ]);
  });
});
