// A reply's prompt: the system prompt and the history through the model's chat template, leaving out
// the oldest turns when the whole does not fit the context. Pure: the model comes in as its context
// size, its name and its encoder, so the tests drive it with a fake one.
import type { Message } from '../shared/api';
import { PromptTooLongError } from '../services/EngineService';
import type { ChatMessage } from '../services/text/chatTemplate';
import { ApiError } from './apiErrors';

export interface PromptPlan {
  ids: number[];
  droppedTurns: number;
  /** for the user, when turns were left out */
  note: string | undefined;
}

export interface PromptRequest {
  systemPrompt: string;
  /** the history, ending with the message to answer */
  turns: ChatMessage[];
  /** the reply's room: max tokens, at most half the context */
  maxTokens: number;
  nCtx: number;
  /** named in the refusal */
  modelName: string;
  /** messages -> prompt ids through the chat template; PromptTooLongError for text that cannot fit */
  encodeChat: (messages: ChatMessage[]) => number[];
}

/** A stored conversation as chat turns: user messages, and replies that have any text. */
export function toChat(messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    // Replies that were stopped or interrupted still count: the user saw them.
    else if (m.role === 'assistant' && m.content.trim().length > 0) out.push({ role: 'assistant', content: m.content });
  }
  return out;
}

/**
 * The prompt: system prompt + history through the model's chat template. When it and the reply's
 * room (max tokens, at most half the context) do not fit the context, the oldest turns after the
 * system prompt are left out, whole turns (a user message and its reply) at a time. Throws
 * ApiError('bad_request') when even the last turn alone does not fit.
 */
export function planPrompt(r: PromptRequest): PromptPlan {
  const { nCtx } = r;
  const system: ChatMessage[] = r.systemPrompt.trim() ? [{ role: 'system', content: r.systemPrompt }] : [];
  // Group into turns: each starts at a user message (a leading assistant message is a turn of its own).
  const groups: ChatMessage[][] = [];
  for (const m of r.turns) {
    if (m.role === 'user' || groups.length === 0) groups.push([m]);
    else groups[groups.length - 1]!.push(m);
  }
  // null: the text alone is too long for the context (refused by length, before tokenizing).
  const encode = (drop: number): number[] | null => {
    try {
      return r.encodeChat([...system, ...groups.slice(drop).flat()]);
    } catch (e) {
      if (e instanceof PromptTooLongError) return null;
      throw e;
    }
  };
  const budget = nCtx - Math.min(r.maxTokens, Math.floor(nCtx / 2));
  const fits = (t: number[] | null): t is number[] => t !== null && t.length <= budget;
  let drop = 0;
  let ids = encode(0);
  if (!fits(ids) && groups.length > 1) {
    // The fewest dropped turns that fit (the length falls as turns are dropped).
    // Invariant: dropping `hi` turns fits (or is the most we may drop: the last turn always stays).
    let lo = 1;
    let hi = groups.length - 1;
    let best = encode(hi);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = encode(mid);
      if (fits(t)) {
        hi = mid;
        best = t;
      } else {
        lo = mid + 1;
      }
    }
    ids = best;
    drop = hi;
  }
  if (ids === null || ids.length >= nCtx) {
    const what = system.length ? 'the system prompt and this message' : 'this message';
    const size = ids === null ? 'are far too long,' : `take ${ids.length} tokens,`;
    throw new ApiError(`${what} ${size} but ${r.modelName}'s context holds ${nCtx}; shorten it`, 'bad_request');
  }
  const note =
    drop > 0
      ? `The ${drop === 1 ? 'oldest turn was' : `${drop} oldest turns were`} left out of the prompt: the conversation is longer than the model's context (${nCtx} tokens).`
      : undefined;
  return { ids, droppedTurns: drop, note };
}
